from django.urls import path

from chatbot import rest

app_name = "api"

urlpatterns = [
    path("conversations/", rest.ConversationListView.as_view(), name="conversations"),
    path("conversations/<int:conversation_id>/", rest.ConversationDetailView.as_view(), name="conversation"),
    path("questions/", rest.QuestionView.as_view(), name="questions"),
    path("answers/<int:message_id>/feedback/", rest.FeedbackView.as_view(), name="feedback"),
]
