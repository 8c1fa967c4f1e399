from django.urls import reverse

from clientela.parties.services import contact_create, contact_update

AUDIT = reverse("core:audit")


def test_audit_trail_shows_time_actor_record_kind_and_changes(client, admin_user, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    contact_update(actor=rep, contact=contact, job_title="CTO")
    client.force_login(admin_user)

    response = client.get(AUDIT)

    html = response.content.decode()
    assert response.status_code == 200
    assert [(entry.event.kind, entry.kind_label) for entry in response.context["entries"]] == [
        ("contact.changed", "Changed"),
        ("contact.created", "Created"),
    ]
    assert '<td><small class="muted">Contact</small><br>Ana Ruiz</td>' in html
    assert f'<a href="?actor={rep.pk}">Rep</a>' in html
    assert (
        '<span class="field-label">Job title:</span> <span class="muted">(empty)</span> → <ins>CTO</ins>'
        in html
    )


def test_audit_trail_filters_by_kind(client, analyst, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    contact_update(actor=rep, contact=contact, job_title="CTO")
    client.force_login(analyst)

    response = client.get(AUDIT, {"kind": "contact.created"})

    assert [entry.event.kind for entry in response.context["entries"]] == ["contact.created"]
    assert (
        '<option value="contact.created" selected>Created (contact.created)</option>'
        in response.content.decode()
    )


def test_audit_trail_paginates_fifty_events_a_page(client, admin_user, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    for number in range(55):
        contact_update(actor=rep, contact=contact, job_title=f"Title {number}")
    client.force_login(admin_user)

    first = client.get(AUDIT)
    second = client.get(AUDIT, {"page": "2"})

    assert len(first.context["entries"]) == 50
    assert len(second.context["entries"]) == 6
    assert "Page 2 of 2" in second.content.decode()


def test_audit_trail_is_forbidden_for_roles_without_the_permission(client, manager):
    client.force_login(manager)

    assert client.get(AUDIT).status_code == 403
