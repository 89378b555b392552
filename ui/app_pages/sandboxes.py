"""My sandboxes: live state and time left, extend, reset, snapshot to a template,
scheduled snapshots (cron), connection string, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from orchestrator.store import state
from ui import feedback, picker, session
from ui.formatting import engine_label, human_ms, short_time, time_left

if TYPE_CHECKING:
    from orchestrator.store.views import SandboxView, ScheduleView

MIN_EXTEND_MINUTES = 5
#: a reset waiting for its confirmation, by sandbox id
CONFIRM_RESET = "sb_confirm_reset"
STATE_BADGES = {
    "requested": ":orange-badge[:material/hourglass_top: requested]",
    "provisioning": ":orange-badge[:material/hourglass_top: provisioning]",
    "ready": ":green-badge[:material/check_circle: ready]",
    "busy": ":blue-badge[:material/sync: busy]",
    "snapshotting": ":violet-badge[:material/photo_camera: snapshotting]",
    "expired": ":gray-badge[expired]",
    "deleted": ":gray-badge[deleted]",
    "failed": ":red-badge[:material/error: failed]",
}


def extend_range(max_ttl_s: int) -> tuple[int, int]:
    """The minutes a sandbox may be extended to: (least, most)."""
    return MIN_EXTEND_MINUTES, max(MIN_EXTEND_MINUTES, max_ttl_s // 60)


def _extend(user: str, sandbox: SandboxView) -> None:
    least, most = extend_range(session.orchestrator().settings.max_ttl)
    left, right = st.columns([2, 1])
    # no max_value: the browser would quietly put a larger number back to the last valid
    # one; a number out of range is refused below, naming the range
    minutes = left.number_input(f"Extend to (minutes from now, {least} to {most})",
                                min_value=1, value=60, step=15, key=f"sb_ttl_{sandbox.id}")
    if right.button("Extend", key=f"sb_extend_{sandbox.id}", icon=":material/more_time:"):
        if not least <= int(minutes) <= most:
            st.error(f"{int(minutes)} minutes is out of range: a sandbox can be extended to "
                     f"{least} to {most} minutes from now (DBPLAY_MAX_TTL). Nothing changed.")
            return
        with feedback.guard():
            view = session.orchestrator().extend_sandbox(user, sandbox.id, int(minutes) * 60)
            feedback.flash(f"Sandbox `{sandbox.id[:8]}` now expires at "
                           f"{short_time(view.expires_at)}.")
            st.rerun()  # draw the new time left, with the message at the top


def _snapshot(user: str, sandbox: SandboxView) -> None:
    name = st.text_input("Template name", key=f"sb_snap_name_{sandbox.id}",
                         placeholder=f"{sandbox.template}-copy")
    description = st.text_input("Description", key=f"sb_snap_desc_{sandbox.id}")
    if st.button("Snapshot to a template", key=f"sb_snap_{sandbox.id}",
                 icon=":material/photo_camera:"):
        if not name.strip():
            st.warning("Give the new template a name.")
            return
        with feedback.guard(), st.spinner("Writing the snapshot…"):
            view = session.orchestrator().snapshot_sandbox(user, sandbox.id, name.strip(),
                                                           description=description)
            feedback.flash(f"Template **{view.name}** saved: launch it from **Templates**.")
            st.rerun()


def _schedule(user: str, sandbox: SandboxView, schedules: list[ScheduleView]) -> None:
    for schedule in schedules:
        text, action = st.columns([4, 1])
        status = f" ({schedule.last_status})" if schedule.last_status else ""
        text.markdown(f"`{schedule.cron}` → **{schedule.name}** · next "
                      f"{short_time(schedule.next_run_at)} · last "
                      f"{short_time(schedule.last_run_at)}{status}")
        if action.button("Remove", key=f"sb_unschedule_{schedule.id}"):
            with feedback.guard():
                session.orchestrator().delete_schedule(user, schedule.id)
                st.rerun()
    cron_col, name_col = st.columns(2)
    cron = cron_col.text_input("Cron expression", key=f"sb_cron_{sandbox.id}",
                               placeholder="0 * * * *", help="minute hour day month weekday")
    name = name_col.text_input("Snapshot template name", key=f"sb_cron_name_{sandbox.id}")
    if st.button("Schedule snapshots", key=f"sb_schedule_{sandbox.id}",
                 icon=":material/schedule:"):
        if not cron.strip() or not name.strip():
            st.warning("Enter a cron expression (e.g. `0 * * * *` for hourly) and a name.")
            return
        with feedback.guard():
            view = session.orchestrator().schedule_snapshots(user, sandbox.id, cron.strip(),
                                                             name.strip())
            feedback.flash(f"Snapshots scheduled: the next one at "
                           f"{short_time(view.next_run_at)}.")
            st.rerun()


def _connection(user: str, sandbox: SandboxView) -> None:
    key = f"sb_conn_{sandbox.id}"
    if st.button("Reveal connection string", key=f"sb_reveal_{sandbox.id}",
                 icon=":material/link:"):
        with feedback.guard():
            orch = session.orchestrator()
            st.session_state[key] = orch.connection_string(user, sandbox.id)
            st.session_state[f"{key}_warning"] = orch.connection_warning(user, sandbox.id)
    if key in st.session_state:
        st.code(st.session_state[key], language=None)
        warning = st.session_state.get(f"{key}_warning")
        if warning:
            st.warning(f"Careful: {warning}.", icon=":material/lock_open:")
        st.caption("Use it from this machine with psql, mongosh, sqlite3 or a Chroma client. "
                   "It contains the sandbox's password: do not share it.")


def _reset(user: str, sandbox: SandboxView, column: DeltaGenerator) -> None:
    """Reset asks first: it throws away everything done in the sandbox."""
    asking = st.session_state.get(CONFIRM_RESET) == sandbox.id
    if not asking:
        if column.button("Reset to template", key=f"sb_reset_{sandbox.id}",
                         icon=":material/restart_alt:"):
            st.session_state[CONFIRM_RESET] = sandbox.id
            st.rerun()
        return
    column.warning(f"Reset `{sandbox.id[:8]}` to **{sandbox.template}**? Everything done "
                   "in it since it was created (tables, rows, imports) is lost.",
                   icon=":material/warning:")
    yes, no = column.columns(2)
    if no.button("Keep it", key=f"sb_reset_no_{sandbox.id}"):
        st.session_state.pop(CONFIRM_RESET, None)
        st.rerun()
    if yes.button("Yes, reset", key=f"sb_reset_yes_{sandbox.id}", type="primary"):
        st.session_state.pop(CONFIRM_RESET, None)
        with feedback.guard(), st.spinner("Resetting: restoring the template…"):
            session.orchestrator().reset_sandbox(user, sandbox.id)
            feedback.flash(f"Sandbox `{sandbox.id[:8]}` reset: it holds the template's data "
                           "again.")
            st.rerun()


def _danger(user: str, sandbox: SandboxView) -> None:
    """Reset (only where it works: a ready or failed sandbox) and delete."""
    reset_col, delete_col = st.columns(2)
    if sandbox.state in state.RESETTABLE:
        _reset(user, sandbox, reset_col)
    else:
        reset_col.caption(f"Reset is offered once the sandbox is ready (it is "
                          f"{sandbox.state}).")
    sure = delete_col.checkbox("I am sure", key=f"sb_sure_{sandbox.id}")
    if delete_col.button("Delete", key=f"sb_delete_{sandbox.id}", disabled=not sure,
                         icon=":material/delete:"):
        with feedback.guard():
            session.orchestrator().delete_sandbox(user, sandbox.id)
            st.session_state.pop(picker.CURRENT, None)
            feedback.flash(f"Sandbox `{sandbox.id[:8]}` deleted.")
            st.rerun()


def _sandbox(user: str, sandbox: SandboxView, schedules: list[ScheduleView]) -> None:
    with st.container(border=True):
        head, facts = st.columns([3, 2])
        head.markdown(f"#### {sandbox.template} · `{sandbox.id[:8]}`")
        head.markdown(STATE_BADGES.get(sandbox.state, sandbox.state))
        head.caption(f"{engine_label(sandbox.engine)} on {sandbox.provisioner or '?'} · "
                     f"created {short_time(sandbox.created_at)} · ready in "
                     f"{human_ms(sandbox.ready_ms)}")
        facts.metric("Time left", time_left(sandbox.expires_at).removesuffix(" left"),
                     help=f"expires {short_time(sandbox.expires_at)}")
        facts.caption(f"Expires {short_time(sandbox.expires_at)}")
        if sandbox.error:
            st.error(f"{sandbox.error}")
        if sandbox.state == "failed":
            st.caption("Reset it to start it again from its template (its data is lost), "
                       "or delete it.")
            _danger(user, sandbox)
            return
        if sandbox.state in ("requested", "provisioning"):
            st.info("Starting up: this page refreshes its state when you press Refresh.")
            return
        if sandbox.state not in state.LIVE:
            st.caption(f"This sandbox is {sandbox.state}: launch a new one from "
                       "**Templates**.")
            return
        with st.expander("Time left, reset and delete"):
            _extend(user, sandbox)
            _danger(user, sandbox)
        with st.expander("Snapshots"):
            _snapshot(user, sandbox)
            st.divider()
            _schedule(user, sandbox, schedules)
        with st.expander("Connection string"):
            _connection(user, sandbox)


def main() -> None:
    user = session.require_user()
    st.title("My sandboxes")
    # outside the listing fragment: the message stays while the listing refreshes itself
    feedback.show_flash()
    top_left, top_right = st.columns([1, 4])
    top_left.button("Refresh", key="sb_refresh", icon=":material/refresh:")
    auto = top_right.toggle("Refresh every 5 s", key="sb_auto")

    @st.fragment(run_every=5 if auto else None)
    def listing() -> None:
        sandboxes, schedules = [], []
        with feedback.guard():
            orch = session.orchestrator()
            sandboxes = orch.list_sandboxes(user)
            schedules = orch.list_schedules(user)
        if not sandboxes:
            picker.no_sandboxes()
            return
        for sandbox in sandboxes:
            _sandbox(user, sandbox, [s for s in schedules if s.sandbox_id == sandbox.id])

    listing()


main()
