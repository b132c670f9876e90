"""The message centre's pages under each portal (``aftersales.messaging.views``)."""

from django.urls import path

from aftersales.messaging import views


def _patterns(portal):
    return [
        path("messages/", views.inbox[portal], name="message-list"),
        path("messages/read-all/", views.read_all[portal], name="message-read-all"),
        path("messages/preferences/", views.preferences[portal], name="message-preferences"),
        path("messages/<int:pk>/", views.message[portal], name="message-detail"),
    ]


my_urlpatterns = _patterns("my")
merchant_urlpatterns = _patterns("merchant")
provider_urlpatterns = _patterns("provider")
