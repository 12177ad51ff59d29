"""The portal's addresses: ids only, never a file name."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal.core import security, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", security.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("kit/", views.kit_page, name="kit"),
    path("kit/build/", views.rebuild, name="rebuild"),
    path("brand/", views.brand_page, name="brand"),
    path("brand/contrast/", views.contrast, name="contrast"),
    path("brand/preview/", views.preview, name="preview"),
    path("builds/<int:build_id>/", views.build_status, name="build-status"),
    path("builds/<int:build_id>/<str:which>.png", views.build_image, name="build-image"),
    path("proof/", views.proof_page, name="proof"),
    path("proof/<int:build_id>/page-<int:number>.png", views.proof_image, name="proof-image"),
    path("proof/<int:build_id>/approve/", views.approve, name="approve"),
    path("downloads/", views.downloads, name="downloads"),
    path("downloads/kit.zip", views.download_zip, name="download-zip"),
    path("downloads/<int:number>/", views.download_file, name="download-file"),
    path("audit/", views.audit_page, name="audit"),
    path("central/", views.central, name="central"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("django-rq/", include("django_rq.urls")),
]
