"""Sandbox images on a real Docker engine: choosing the image source, building an official
variant from compose/ on first use, and the storage cap where Docker has no disk quota."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engines.errors import ProvisionError
from engines.registry import connect
from orchestrator.sandboxes.docker.image_baker import BaseImages, available_sources, choose_source
from orchestrator.sandboxes.docker.specs import OFFICIAL, OFFLINE, Limits, MiB, PostgresSpec
from tests.sandboxes.conftest import TEST_INSTANCE, new_request

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]


def test_auto_image_source_picks_the_images_built_here(provisioner):
    found = available_sources(provisioner.client)
    assert OFFLINE in found  # the session fixture built the offline images
    assert choose_source(provisioner.client, "auto") == found[0]
    assert choose_source(provisioner.client, "offline") == OFFLINE


@dataclass(frozen=True)
class _ScratchSpec(PostgresSpec):
    """PostgreSQL under a tag of this test run only, built from a scratch compose dir."""

    images: ClassVar[dict[str, str]] = {OFFICIAL: f"dbplay-test/postgres:{TEST_INSTANCE}",
                                        OFFLINE: f"dbplay-test/postgres:{TEST_INSTANCE}"}
    compose_dir: ClassVar[str] = "scratch"


def _compose(tmp_path: Path, dockerfile: str) -> Path:
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "Dockerfile").write_text(dockerfile)
    return tmp_path


def test_missing_official_image_is_built_from_compose_on_first_use(provisioner, tmp_path):
    spec = _ScratchSpec()
    tag = spec.image(OFFICIAL)
    compose = _compose(tmp_path, "FROM dbplay/postgres:15\nLABEL dbplay.test=built\n")
    images = BaseImages(provisioner.containers, OFFICIAL, compose_dir=compose)
    try:
        assert images.ensure(spec) == tag
        built = provisioner.client.images.get(tag)
        assert built.labels["dbplay.test"] == "built"
        assert images.ensure(spec) == tag  # present now: not built again
        assert provisioner.client.images.get(tag).id == built.id
    finally:
        provisioner.client.images.remove(tag, force=True)


def test_official_image_that_cannot_be_built_names_the_offline_script(provisioner, tmp_path):
    compose = _compose(tmp_path, "FROM dbplay-test/no-such-base:none\n")
    images = BaseImages(provisioner.containers, OFFICIAL, compose_dir=compose)
    with pytest.raises(ProvisionError, match=r"build-offline-images\.sh"):
        images.ensure(_ScratchSpec())
    offline = BaseImages(provisioner.containers, OFFLINE, compose_dir=compose)
    with pytest.raises(ProvisionError, match="not found; build the offline images"):
        offline.ensure(_ScratchSpec())


def test_sandbox_writing_past_its_storage_cap_is_stopped_and_reported(provisioner, events,
                                                                      tmp_path):
    from orchestrator.sandboxes.docker.provisioner import DockerProvisioner

    capped = DockerProvisioner(provisioner.client, image_source="offline", state_dir=tmp_path,
                               instance=TEST_INSTANCE, reap_on_start=False, on_event=events,
                               limits={"postgres": Limits(storage_bytes=48 * MiB)},
                               storage_check_s=0.5)
    handle = capped.create(new_request("postgres", ttl=dt.timedelta(minutes=5)))
    try:
        with connect("postgres", handle.user_url, timeout_s=120) as db:
            # about 70 MB of incompressible rows, past the 48 MiB cap
            [result] = db.execute("CREATE TABLE big AS SELECT g, md5(g::text) AS h "
                                  "FROM generate_series(1, 1000000) g")
        if capped.containers.storage_cap_supported():  # Docker's quota: the write fails
            assert result.error is not None
            return
        deadline = time.monotonic() + 20
        reasons: list[Any] = []
        while time.monotonic() < deadline and not reasons:
            reasons = [r for sid, event, r in events.seen
                       if sid == handle.sandbox_id and "storage cap" in r]
            time.sleep(0.2)
        assert reasons and "over its storage cap of 48 MiB" in reasons[0]
        assert provisioner.client.containers.get(handle.ref).status == "exited"
    finally:
        capped.destroy(handle)
        capped.close()
