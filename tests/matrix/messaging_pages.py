"""Who may use the message centre under /my/ and /merchant/ (``aftersales.messaging.views``).

Each person sees and changes only their own messages and channels: a consumer's under /my/,
merchant staff's under /merchant/; every other role is refused by the portal (404). The
/provider/ pages are outside the matrix (it has no provider role):
``aftersales/tests/test_message_centre.py`` checks them.
"""

from aftersales.messaging.models import Notification, NotificationPreference
from tests.matrix import CONSUMER_A, CONSUMERS, MERCHANT_A_STAFF, Read, Target, Write, register

PAGE_POST = (302,)  # a page's successful form post redirects (post/redirect/get)
MERCHANT_STAFF = frozenset({"merchant_a", "merchant_b"})


def _message_to(user_of):
    def setup(w, side):
        note = Notification.objects.create(
            user=user_of(side),
            event="return.rejected",
            kind="returns",
            title=f"矩阵消息-{user_of.__name__}-{side.code}",
            body="正文",
        )
        return Target(kwargs={"pk": note.pk}, row=note.title)

    return setup


def consumer(side):
    return side.consumer_user


def staff(side):
    return side.staff


def _preferences_of(user_of):
    def snapshot(w, target):
        return list(
            NotificationPreference.objects.filter(user=user_of(w.a)).values_list(
                "email_enabled", "sms_enabled", "kinds"
            )
        )

    return snapshot


PREFERENCE_BODY = {"refunds_email": "on", "refunds_sms": "on"}

for portal, user_of, owner, everyone in (
    ("my", consumer, CONSUMER_A, CONSUMERS),
    ("merchant", staff, MERCHANT_A_STAFF, MERCHANT_STAFF),
):
    register(f"{portal}:message-list", setup=_message_to(user_of), get=Read(owner))
    register(f"{portal}:message-detail", setup=_message_to(user_of), get=Read(owner))
    register(
        f"{portal}:message-read-all",
        setup=_message_to(user_of),
        post=Write(owner, touches=[Notification], callers_own=True, status=PAGE_POST),
    )
    register(
        f"{portal}:message-preferences",
        get=Read(everyone),
        post=Write(
            owner,
            body=PREFERENCE_BODY,
            snapshot=_preferences_of(user_of),
            callers_own=True,
            status=PAGE_POST,
        ),
    )
