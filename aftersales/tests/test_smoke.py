def test_me_as_each_role(api):
    assert api("consumer_a").get("/api/v1/me/").json()["kind"] == "consumer"
    assert api("merchant_a").get("/api/v1/me/").json()["kind"] == "merchant"
    assert api("platform_key").get("/api/v1/me/").json()["kind"] == "integrator"
    assert api(None).get("/api/v1/me/").status_code in (401, 403)
