from django.urls import path

from audit import rest as audit_rest
from chatbot import rest
from costing import rest as costing_rest
from knowledge import rest as knowledge_rest

app_name = "api"

urlpatterns = [
    path("conversations/", rest.ConversationListView.as_view(), name="conversations"),
    path("conversations/<int:conversation_id>/", rest.ConversationDetailView.as_view(), name="conversation"),
    path("questions/", rest.QuestionView.as_view(), name="questions"),
    path("answers/<int:message_id>/feedback/", rest.FeedbackView.as_view(), name="feedback"),
    path("faqs/", knowledge_rest.FaqEntryListView.as_view(), name="faqs"),
    path("faqs/<int:entry_id>/", knowledge_rest.FaqEntryDetailView.as_view(), name="faq"),
    path("audit/events/", audit_rest.AuditEventListView.as_view(), name="audit_events"),
    path("usage/", costing_rest.MonthUsageView.as_view(), name="usage"),
]
