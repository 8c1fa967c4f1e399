"""The public side of web forms: /f/<slug>/, a hosted page and the address submissions go to.

Anyone may post here, from any site (so it is exempt from CSRF: there is no session to protect), as
a form (answered with a page or a redirect) or as JSON (answered with JSON). What a visitor sees or
gets back is only the form itself and its messages: never an owner, a lead or another submission.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from clientela.sales.lead_forms import PublicWebForm
from clientela.sales.models import WebForm
from clientela.sales.webforms import RateLimitedError, webform_public_get, webform_submit

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TITLES = {
    400: "Invalid input",
    404: "Not found",
    422: "Unprocessable content",
    429: "Too many requests",
}
MAX_JSON_BYTES = 64 * 1024


def _wants_json(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    accept = request.headers.get("Accept", "")
    return content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _problem(
    status: int, detail: str, *, errors: dict[str, Any] | None = None, **headers: str
) -> JsonResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _json_errors(error: ValidationError) -> dict[str, list[str]]:
    if not hasattr(error, "error_dict"):
        return {"non_field_errors": list(error.messages)}
    return {
        ("non_field_errors" if name == "__all__" else name): list(messages)
        for name, messages in error.message_dict.items()
    }


def _page_csp(web_form: WebForm) -> dict[str, Any]:
    """The project's policy; a form that redirects after sending may also post on to that site
    (browsers apply form-action to the redirect)."""
    policy = dict(settings.SECURE_CSP)
    if web_form.redirect_url:
        parts = urlsplit(web_form.redirect_url)
        policy["form-action"] = [CSP.SELF, f"{parts.scheme}://{parts.netloc}"]
    return policy


def _render(
    request: HttpRequest,
    template: str,
    web_form: WebForm,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    response = render(request, template, {"web_form": web_form, **context}, status=status)
    response._csp_config = _page_csp(web_form)  # type: ignore[attr-defined]
    # The page is the same for everyone; no proxy should keep one visitor's errors for another.
    response["Cache-Control"] = "no-store"
    return response


def _submitted_data(request: HttpRequest) -> dict[str, Any] | None:
    if request.content_type == "application/json":
        if len(request.body) > MAX_JSON_BYTES:
            return None
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
    return {name: request.POST.get(name) for name in request.POST}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def public_form(request: HttpRequest, slug: str) -> HttpResponse:
    wants_json = _wants_json(request)
    try:
        web_form = webform_public_get(slug)
    except Http404:
        if wants_json:
            return _problem(404, _("There is no form at this address."))
        raise
    if request.method == "GET":
        form = PublicWebForm(web_form=web_form)
        return _render(request, "sales/public_form.html", web_form, {"form": form})

    data = _submitted_data(request)
    if data is None:
        if wants_json:
            return _problem(400, _("Send a JSON object with the form's fields."))
        data = {}
    try:
        result = webform_submit(
            web_form=web_form,
            data=data,
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", ""),
            page_url=request.headers.get("Referer", ""),
        )
    except WebForm.DoesNotExist:
        if wants_json:
            return _problem(404, _("There is no form at this address."))
        raise Http404 from None
    except RateLimitedError as error:
        if wants_json:
            return _problem(429, str(error), Retry_After=str(error.retry_after))
        response = _render(
            request, "sales/public_limited.html", web_form, {"message": str(error)}, status=429
        )
        response["Retry-After"] = str(error.retry_after)
        return response
    except ValidationError as error:
        if wants_json:
            return _problem(422, _("Some fields need your attention."), errors=_json_errors(error))
        form = PublicWebForm(data, web_form=web_form)
        form.add_service_errors(error)
        # 200, like every form page that shows errors (a browser treats 4xx pages as failed loads).
        return _render(request, "sales/public_form.html", web_form, {"form": form})
    del result  # a fooled bot gets the same answer as a visitor
    message = web_form.thank_you_message or _("Thank you. We will be in touch soon.")
    if wants_json:
        return JsonResponse({"status": "received", "message": message}, status=201)
    if web_form.redirect_url:
        response = HttpResponseRedirect(web_form.redirect_url)
        response.status_code = 303  # See Other: the browser follows with a GET
        return response
    return _render(request, "sales/public_thanks.html", web_form, {"message": message})


urlpatterns: list[Any] = [
    path("f/<slug:slug>/", public_form, name="public_form"),
]
