from django.urls import path

from routing import views

app_name = "routing"

urlpatterns = [
    path("policy/", views.policy_page, name="policy"),
]
