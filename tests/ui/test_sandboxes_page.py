"""My sandboxes: state, time left, extend, connection string, snapshot, schedule, delete."""

from __future__ import annotations

from tests.ui.conftest import no_crash, texts


def test_without_sandboxes_it_points_to_templates(app, user):
    at = app(user, "sandboxes")
    no_crash(at)
    assert any("Launch one from **Templates**" in i for i in texts(at, "info"))


def test_shows_state_and_time_left(app, user, sandbox):
    at = app(user, "sandboxes")
    no_crash(at)
    assert any(sandbox.id[:8] in m for m in texts(at, "markdown"))
    assert any("ready]" in m and "green-badge" in m for m in texts(at, "markdown"))
    assert at.metric[0].label == "Time left"
    assert at.metric[0].value.startswith(("59 min", "60 min", "1 h"))


def test_extend_moves_the_expiry(app, user, sandbox, api):
    at = app(user, "sandboxes")
    at.number_input(key=f"sb_ttl_{sandbox.id}").set_value(180)
    at.button(key=f"sb_extend_{sandbox.id}").click().run()
    no_crash(at)
    assert api.get_sandbox(user, sandbox.id).expires_at > sandbox.expires_at
    # the page was drawn again after extending: the new time left and the message survive
    assert at.metric[0].value.startswith(("2 h 59", "3 h"))
    assert any("now expires at" in s for s in texts(at, "success"))


def test_success_messages_are_shown_at_the_top_once(app, user, sandbox):
    at = app(user, "sandboxes")
    at.button(key=f"sb_extend_{sandbox.id}").click().run()
    assert at.success[0].value.startswith(f"Sandbox `{sandbox.id[:8]}` now expires at")
    at.button(key="sb_refresh").click().run()
    no_crash(at)
    assert not texts(at, "success")


def test_reveal_connection_string(app, user, sandbox, api):
    at = app(user, "sandboxes")
    at.button(key=f"sb_reveal_{sandbox.id}").click().run()
    no_crash(at)
    assert api.connection_string(user, sandbox.id) in texts(at, "code")


def test_snapshot_to_a_template_and_schedule_snapshots(app, user, sandbox, api):
    at = app(user, "sandboxes")
    at.text_input(key=f"sb_snap_name_{sandbox.id}").input(f"snap-{user}")
    at.button(key=f"sb_snap_{sandbox.id}").click().run()
    no_crash(at)
    assert any(f"**snap-{user}** saved" in s for s in texts(at, "success"))
    assert f"snap-{user}" in [t.name for t in api.list_templates(user)]

    at.text_input(key=f"sb_cron_{sandbox.id}").input("0 3 * * *")
    at.text_input(key=f"sb_cron_name_{sandbox.id}").input(f"nightly-{user}")
    at.button(key=f"sb_schedule_{sandbox.id}").click().run()
    no_crash(at)
    (schedule,) = api.list_schedules(user)
    assert schedule.cron == "0 3 * * *"
    assert any("Snapshots scheduled" in s for s in texts(at, "success"))
    assert any("`0 3 * * *`" in m for m in texts(at, "markdown"))
    at.button(key=f"sb_unschedule_{schedule.id}").click().run()
    assert api.list_schedules(user) == []


def test_bad_cron_is_reported_without_a_traceback(app, user, sandbox):
    at = app(user, "sandboxes")
    at.text_input(key=f"sb_cron_{sandbox.id}").input("every tuesday")
    at.text_input(key=f"sb_cron_name_{sandbox.id}").input("x")
    at.button(key=f"sb_schedule_{sandbox.id}").click().run()
    assert not at.exception
    assert any(e.startswith("**InvalidRequest**") for e in texts(at, "error"))


def test_delete_needs_confirmation_then_removes_it(app, user, sandbox, api):
    at = app(user, "sandboxes")
    assert at.button(key=f"sb_delete_{sandbox.id}").disabled
    at.checkbox(key=f"sb_sure_{sandbox.id}").check().run()
    at.button(key=f"sb_delete_{sandbox.id}").click().run()
    no_crash(at)
    assert api.list_sandboxes(user) == []
    assert any("Launch one from **Templates**" in i for i in texts(at, "info"))
    assert f"Sandbox `{sandbox.id[:8]}` deleted." in texts(at, "success")


def test_other_users_sandboxes_are_not_shown(app, user, sandbox):
    at = app("someone-else", "sandboxes")
    assert sandbox.id[:8] not in " ".join(texts(at, "markdown"))


def test_failed_sandbox_shows_its_reason_and_reset_brings_it_back(app, user, sandbox, api):
    from orchestrator.store import state

    with api.db.session() as session:  # what the provisioner's death callback does
        sb = state.lock_sandbox(session, sandbox.id)
        state.transition(session, sb, state.FAILED, "container died: its server exited with "
                         "code 137 and was not restarted: reset the sandbox to start again")
    at = app(user, "sandboxes")
    no_crash(at)
    assert any("was not restarted" in e for e in texts(at, "error"))
    assert any("Reset it" in c for c in texts(at, "caption"))
    assert not [b for b in at.button if b.key == f"sb_extend_{sandbox.id}"]  # no Extend
    at.button(key=f"sb_reset_{sandbox.id}").click().run()
    at.button(key=f"sb_reset_yes_{sandbox.id}").click().run()
    no_crash(at)
    assert api.get_sandbox(user, sandbox.id).state == "ready"
    assert any("reset" in s for s in texts(at, "success"))


def test_extend_past_the_longest_lifetime_is_refused_naming_the_range(app, user, sandbox,
                                                                      api):
    at = app(user, "sandboxes")
    at.number_input(key=f"sb_ttl_{sandbox.id}").set_value(2000)
    at.button(key=f"sb_extend_{sandbox.id}").click().run()
    no_crash(at)
    errors = texts(at, "error")
    assert any("2000 minutes is out of range" in e and "5 to 1440 minutes" in e
               for e in errors), errors
    assert api.get_sandbox(user, sandbox.id).expires_at == sandbox.expires_at


def test_reset_asks_for_confirmation_and_keep_it_changes_nothing(app, user, sandbox, api):
    api.run_query(user, sandbox.id, "CREATE TABLE mine (x INTEGER)")
    at = app(user, "sandboxes")
    at.button(key=f"sb_reset_{sandbox.id}").click().run()
    no_crash(at)
    assert any("Everything done in it" in w for w in texts(at, "warning"))
    at.button(key=f"sb_reset_no_{sandbox.id}").click().run()
    assert not [b for b in at.button if b.key == f"sb_reset_yes_{sandbox.id}"]
    tables = [t.name for t in api.schema(user, sandbox.id).tables]
    assert "mine" in tables  # nothing was reset
    at.button(key=f"sb_reset_{sandbox.id}").click().run()
    at.button(key=f"sb_reset_yes_{sandbox.id}").click().run()
    no_crash(at)
    assert "mine" not in [t.name for t in api.schema(user, sandbox.id).tables]
