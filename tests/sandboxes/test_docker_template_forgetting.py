"""Forgetting a template on the Docker provisioner frees its baked image and its warm
pool; a sandbox still running from the image keeps it until that sandbox goes. Real
Docker engine, real containers, a dump of the test's own (its own digest and image)."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest

from engines.registry import connect
from tests.sandboxes.conftest import TEST_INSTANCE, new_request

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]


def _own_dump(tmp_path: Path) -> Path:
    dump = tmp_path / "marks.sql"
    dump.write_text(f"-- {uuid.uuid4()}\nCREATE TABLE marks (v text);\n"
                    "INSERT INTO marks VALUES ('a'), ('b');\n")
    return dump


def _baked(client: Any, digest: str) -> list[Any]:
    """Every image (tagged or not) baked from ``digest``."""
    return list(client.images.list(all=True, filters={"label": f"dbplay.dump_digest={digest}"}))


def _count(url: str) -> int:
    with connect("postgres", url) as engine:
        return int(engine.execute("SELECT count(*) FROM marks")[-1].rows[0][0])


@pytest.fixture
def own_dump(tmp_path: Path, docker_client: Any) -> Any:
    dump = _own_dump(tmp_path)
    yield dump
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    for image in _baked(docker_client, digest):  # whatever a failed test left
        docker_client.images.remove(image.id, force=True)


def test_forgetting_frees_the_baked_image_once_no_sandbox_uses_it(provisioner, own_dump):
    digest = hashlib.sha256(own_dump.read_bytes()).hexdigest()
    handle = provisioner.create(new_request("postgres", template="marks", dump=own_dump))
    try:
        assert handle.info["image"].startswith("dbplay/baked-postgres:")
        assert len(_baked(provisioner.client, digest)) == 1

        provisioner.forget_template(digest)

        # the tag is gone at once: no new sandbox starts from it ...
        assert provisioner.containers.get_image(handle.info["image"]) is None
        # ... and the running sandbox keeps its data
        assert _count(handle.user_url) == 2
    finally:
        provisioner.destroy(handle)
    assert _baked(provisioner.client, digest) == []  # went with its last container
    provisioner.forget_template(digest)  # idempotent


def test_forgetting_an_unused_template_deletes_its_image_and_idle_pool(
        provisioner, own_dump, tmp_path):
    from orchestrator.sandboxes.docker.provisioner import DockerProvisioner

    digest = hashlib.sha256(own_dump.read_bytes()).hexdigest()
    pooled = DockerProvisioner(provisioner.client, image_source="offline", pool_size=1,
                               state_dir=tmp_path / "state", reap_on_start=False,
                               instance=TEST_INSTANCE)
    try:
        pooled.prewarm(new_request("postgres", template="marks", dump=own_dump), wait=True)
        [tag] = pooled.baker.tags_of(digest)
        idle = pooled.containers.list(f"dbplay.pool={tag}")
        assert len(idle) == 1

        pooled.forget_template(digest)

        assert _baked(provisioner.client, digest) == []
        assert pooled.containers.list(f"dbplay.pool={tag}") == []
        assert pooled.pools.get(tag) is None
        # the template's next sandbox bakes the image again
        again = pooled.create(new_request("postgres", template="marks", dump=own_dump))
        try:
            assert _count(again.user_url) == 2
        finally:
            pooled.destroy(again)
    finally:
        pooled.close(drain_pools=True)
