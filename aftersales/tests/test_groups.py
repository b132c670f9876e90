"""Platform staff groups and their model permissions (aftersales.tenancy.groups)."""

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from aftersales.tenancy.groups import platform_groups_ensure
from aftersales.tenancy.models import PlatformGroup

pytestmark = pytest.mark.django_db


def _codes(name):
    return set(
        Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename")
    )


def test_command_creates_the_four_groups():
    out = io.StringIO()
    call_command("setup_platform_groups", stdout=out)
    assert set(Group.objects.values_list("name", flat=True)) >= set(PlatformGroup.values)
    assert "auditor" in out.getvalue()


def test_auditors_only_view():
    platform_groups_ensure()
    codes = _codes("auditor")
    assert ("aftersales", "view_merchant") in codes and ("orders", "view_order") in codes
    assert all(code.startswith("view_") for _, code in codes)


def test_agents_change_cases_not_the_kernel():
    platform_groups_ensure()
    codes = _codes("after_sales_agent")
    assert ("orders", "change_order") in codes
    assert ("aftersales", "view_merchant") in codes
    assert ("aftersales", "change_merchant") not in codes
    assert not any(code.startswith("delete_") for _, code in codes)


def test_managers_change_the_kernel_but_not_append_only_records():
    platform_groups_ensure()
    codes = _codes("after_sales_manager")
    assert ("aftersales", "change_merchant") in codes
    assert ("aftersales", "add_policyversion") in codes
    assert ("aftersales", "change_timelineevent") not in codes
    assert ("aftersales", "change_piiaccesslog") not in codes
    assert ("aftersales", "view_piiaccesslog") in codes
    assert ("aftersales", "change_user") not in codes
    # The one delete: unlocking a sign-in (its access-attempt row).
    deletes = {(app, code) for app, code in codes if code.startswith("delete_")}
    assert deletes == {("axes", "delete_accessattempt")}


def test_mediators_get_no_kernel_rights():
    platform_groups_ensure()
    codes = _codes("mediator")
    assert not any(app == "aftersales" for app, _ in codes)
    assert all(code.startswith("view_") for _, code in codes)


def test_rerun_is_data_safe_and_reset_restores_defaults():
    platform_groups_ensure()
    extra = Permission.objects.get(codename="delete_merchant")
    auditor = Group.objects.get(name="auditor")
    auditor.permissions.add(extra)
    before = _codes("auditor")
    assert platform_groups_ensure()["auditor"] == 0
    assert _codes("auditor") == before  # hand-granted permission kept
    platform_groups_ensure(reset=True)
    assert ("aftersales", "delete_merchant") not in _codes("auditor")


def test_post_migrate_receiver_runs(django_db_setup):
    from django.apps import apps

    from aftersales.tenancy.groups import on_post_migrate

    Group.objects.filter(name__in=PlatformGroup.values).delete()
    on_post_migrate(sender=apps.get_app_config("aftersales"), using="default")
    assert Group.objects.filter(name__in=PlatformGroup.values).count() == 4
