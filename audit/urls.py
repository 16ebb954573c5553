from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="events"),
    path("events/<int:seq>/", views.event_detail, name="event_detail"),
    path("events/<int:seq>/raw/", views.raw_question, name="raw_question"),
    path("export.<str:export_format>", views.export, name="export"),
    path("checkpoints.jsonl", views.checkpoints_export, name="checkpoints"),
    path("public-key.pem", views.public_key, name="public_key"),
    path("summary/", views.summary, name="summary"),
    path("verification/", views.verification, name="verification"),
]
