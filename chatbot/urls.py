from django.urls import path

from chatbot import views

app_name = "chatbot"

urlpatterns = [
    path("", views.chat, name="chat"),
    path("c/<int:conversation_id>/", views.chat, name="conversation"),
    path("ask/", views.ask, name="ask"),
]
