from django.urls import path

app_name = "costing"

urlpatterns: list = []
