from django.urls import path

from chatbot import views

app_name = "chatbot"

urlpatterns = [
    path("", views.chat, name="chat"),
    path("c/<int:conversation_id>/", views.chat, name="conversation"),
    path("c/<int:conversation_id>/rename/", views.rename, name="rename"),
    path("c/<int:conversation_id>/delete/", views.delete, name="delete"),
    path("ask/", views.ask, name="ask"),
    path("ask/stream/", views.ask_stream, name="ask_stream"),
    path("answers/<int:message_id>/feedback/", views.feedback, name="feedback"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
]
