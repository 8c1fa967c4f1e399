"""Pages of web forms for administrators: the list, the builder, a form's snippet and submissions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clientela.core.exceptions import ConflictError
from clientela.core.pagination import CappedPaginator
from clientela.core.permissions import Perm, require_perm
from clientela.sales.lead_forms import WebFormForm
from clientela.sales.models import WebForm
from clientela.sales.webforms import (
    webform_create,
    webform_delete,
    webform_field_specs,
    webform_get,
    webform_public_url,
    webform_snippet,
    webform_submissions,
    webform_update,
    webforms_visible_to,
)


@login_required
def webform_list(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    forms = list(webforms_visible_to(request.user))
    return render(request, "sales/webform_list.html", {"nav": "webforms", "web_forms": forms})


def _form_page(request: HttpRequest, web_form: WebForm | None) -> HttpResponse:
    form = WebFormForm(
        request.POST if request.method == "POST" else None, actor=request.user, web_form=web_form
    )
    is_conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            if web_form is None:
                saved = webform_create(actor=request.user, **form.service_values())
            else:
                saved = webform_update(
                    actor=request.user,
                    web_form=web_form,
                    expected_version=form.expected_version,
                    **form.service_values(),
                )
        except ValidationError as error:
            form.add_service_errors(error)
        except ConflictError:
            is_conflict = True
        else:
            messages.success(request, _("The web form %(name)s was saved.") % {"name": saved})
            return redirect("sales:webform_detail", saved.pk)
    context = {"nav": "webforms", "web_form": web_form, "form": form, "is_conflict": is_conflict}
    return render(request, "sales/webform_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def webform_create_view(request: HttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    return _form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def webform_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    return _form_page(request, webform_get(request.user, pk))


@login_required
def webform_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A form's settings, its embeddable snippet and hosted page, and its latest submissions."""
    require_perm(request.user, Perm.SALES_CONFIGURE)
    web_form = webform_get(request.user, pk)
    page = CappedPaginator(webform_submissions(request.user, web_form), 50).get_page(
        request.GET.get("page")
    )
    context = {
        "nav": "webforms",
        "web_form": web_form,
        "specs": webform_field_specs(web_form),
        "public_url": webform_public_url(web_form),
        "hosted_path": reverse("sales:public_form", args=[web_form.slug]),
        "snippet": webform_snippet(web_form),
        "page": page,
    }
    return render(request, "sales/webform_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def webform_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request.user, Perm.SALES_CONFIGURE)
    web_form = webform_get(request.user, pk)
    if request.method == "POST":
        webform_delete(actor=request.user, web_form=web_form)
        messages.success(request, _("The web form %(name)s was deleted.") % {"name": web_form})
        return redirect("sales:webform_list")
    context = {
        "nav": "webforms",
        "record": web_form,
        "submission_count": web_form.submission_count,  # type: ignore[attr-defined]
        "cancel_url": reverse("sales:webform_detail", args=[web_form.pk]),
    }
    return render(request, "sales/webform_confirm_delete.html", context)


urlpatterns: list[Any] = [
    path("web-forms/", webform_list, name="webform_list"),
    path("web-forms/new/", webform_create_view, name="webform_create"),
    path("web-forms/<int:pk>/", webform_detail, name="webform_detail"),
    path("web-forms/<int:pk>/edit/", webform_edit, name="webform_edit"),
    path("web-forms/<int:pk>/delete/", webform_delete_view, name="webform_delete"),
]
