"""Notification API: own inbox only, unread filter, mark read, channel preferences."""

from aftersales.messaging.models import Notification, NotificationPreference
from aftersales.messaging.notifications import notify
from aftersales.tenancy.actors import SYSTEM


def _notify(user, n=1):
    for i in range(n):
        notify(
            recipient_user=user, event="notification.test", context={"name": str(i)}, actor=SYSTEM
        )


def test_inbox_shows_only_own_notifications(api, roles, django_assert_max_num_queries):
    _notify(roles["consumer_a"], 3)
    _notify(roles["consumer_b"], 2)
    client = api("consumer_a")
    with django_assert_max_num_queries(5):
        r = client.get("/api/v1/notifications/")
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 3 and results[0]["title"] == "测试通知：2"
    assert {d["channel"] for d in results[0]["deliveries"]} == {"in_app"}
    other = Notification.objects.filter(user=roles["consumer_b"]).first()
    assert client.get(f"/api/v1/notifications/{other.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{other.pk}/read/").status_code == 404
    assert api("platform_key").get("/api/v1/notifications/").json()["results"] == []


def test_page_size_and_cursor(api, roles):
    _notify(roles["consumer_a"], 4)
    r = api("consumer_a").get("/api/v1/notifications/?page_size=3").json()
    assert len(r["results"]) == 3 and r["next"]
    r2 = api("consumer_a").get(r["next"]).json()
    assert len(r2["results"]) == 1


def test_mark_read_and_unread_filter(api, roles):
    _notify(roles["consumer_a"], 2)
    client = api("consumer_a")
    first = Notification.objects.filter(user=roles["consumer_a"]).order_by("id").first()
    r = client.post(f"/api/v1/notifications/{first.pk}/read/")
    assert r.status_code == 200 and r.json()["read_at"]
    unread = client.get("/api/v1/notifications/?unread=true").json()["results"]
    assert [n["id"] for n in unread] != [] and first.pk not in [n["id"] for n in unread]
    read = client.get("/api/v1/notifications/?unread=false").json()["results"]
    assert [n["id"] for n in read] == [first.pk]
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 1}


def test_preferences_get_and_put(api, roles):
    client = api("consumer_a")
    r = client.get("/api/v1/notification-preferences/")
    assert r.json() | {"updated_at": None} == {
        "in_app_enabled": True,
        "email_enabled": True,
        "sms_enabled": False,
        "kinds": {},
        "updated_at": None,
    }
    r = client.put(
        "/api/v1/notification-preferences/",
        {"sms_enabled": True, "email_enabled": False},
        format="json",
    )
    assert r.status_code == 200 and r.json()["sms_enabled"] is True
    pref = NotificationPreference.objects.get(user=roles["consumer_a"])
    assert pref.sms_enabled and not pref.email_enabled
    assert api("platform_key").get("/api/v1/notification-preferences/").status_code == 404


def test_channels_per_kind_of_message(api, roles):
    """A kind chosen apart overrides the choice for every kind (issue 14)."""
    client = api("consumer_a")
    r = client.put(
        "/api/v1/notification-preferences/",
        {"sms_enabled": False, "kinds": {"refunds": {"sms": True}}},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["kinds"] == {"refunds": {"sms": True}}
    user = roles["consumer_a"]
    refund = notify(recipient_user=user, event="return.refunded", context={}, actor=SYSTEM)
    other = notify(recipient_user=user, event="return.rejected", context={}, actor=SYSTEM)
    assert refund.kind == "refunds" and other.kind == "returns"
    assert sorted(refund.deliveries.values_list("channel", flat=True)) == ["in_app", "sms"]
    assert list(other.deliveries.values_list("channel", flat=True)) == ["in_app"]
    listed = client.get("/api/v1/notifications/?kind=refunds").json()["results"]
    assert [n["id"] for n in listed] == [refund.pk]
    bad = client.put(
        "/api/v1/notification-preferences/", {"kinds": {"nope": {"sms": True}}}, format="json"
    )
    assert bad.status_code == 400
