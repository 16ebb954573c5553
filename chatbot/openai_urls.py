from django.urls import path

from chatbot import openai_api

app_name = "openai"

urlpatterns = [
    path("chat/completions", openai_api.chat_completions, name="chat_completions"),
    path("models", openai_api.models, name="models"),
]
