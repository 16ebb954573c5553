from django.urls import path

from costing import views

app_name = "costing"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>.csv", views.export_month_table, name="export_month_table"),
    path("strategies/", views.strategies, name="strategies"),
    path("strategies/export/<slug:table>.csv", views.export_strategy_table, name="export_strategy_table"),
    path("prices/", views.prices, name="prices"),
    path("prices/<int:price_id>/", views.edit_price, name="edit_price"),
    path("profiles/", views.profiles, name="profiles"),
    path("profiles/<int:profile_id>/", views.edit_profile, name="edit_profile"),
    path("budgets/", views.budgets, name="budgets"),
    path("budgets/<int:department_id>/", views.set_budget, name="set_budget"),
    path("settings/", views.settings_page, name="settings"),
]
