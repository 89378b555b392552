"""``DBPLAY_INSTANCE``: the ``dbplay.instance`` label an installation's sandbox
containers carry, so that stacks with the same home path on one engine (compose
stacks) never list or reap each other's sandboxes."""

from __future__ import annotations

from pathlib import Path

from orchestrator.config.settings import Settings
from orchestrator.sandboxes.provisioners import Provisioners, installation_id


def test_instance_setting_names_the_installations_containers(tmp_path: Path) -> None:
    settings = Settings.load({"DBPLAY_HOME": str(tmp_path), "DBPLAY_INSTANCE": "team-a"})
    assert Provisioners(settings).instance == "team-a"


def test_instance_defaults_to_a_digest_of_the_home_path(tmp_path: Path) -> None:
    first = Settings.load({"DBPLAY_HOME": str(tmp_path / "one")})
    second = Settings.load({"DBPLAY_HOME": str(tmp_path / "two")})
    assert Provisioners(first).instance == installation_id(first.home)
    assert Provisioners(first).instance != Provisioners(second).instance
