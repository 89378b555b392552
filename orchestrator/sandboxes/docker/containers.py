"""Starting, reaching and removing sandbox containers: the Docker calls the provisioner,
the image baker and the warm pool share.

Network model: every sandbox joins one bridge network created ``internal`` (no route out
of it, so no egress) with inter-container communication disabled
(``com.docker.network.bridge.enable_icc=false``, so sandboxes cannot reach each other).
Packets for the host's own addresses are refused on that bridge except replies
(:func:`block_host_input`). Ports cannot be published from an internal network, so the
orchestrator connects to the container's address on that bridge, which the host reaches
directly on Linux;
:mod:`orchestrator.sandboxes.docker.port_forward` gives owners a 127.0.0.1 port on request.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import subprocess
import time
from typing import Any

from engines.errors import ProvisionError
from engines.registry import connect
from orchestrator.sandboxes.docker.specs import ContainerSpec, Limits

log = logging.getLogger(__name__)

NETWORK = "dbplay-sandboxes"
SANDBOX_PREFIX = "dbplay-sb-"
POOL_PREFIX = "dbplay-pool-"
BAKE_PREFIX = "dbplay-bake-"
LABEL_SANDBOX = "dbplay.sandbox"
#: which installation a container belongs to: each one lists and reaps only its own
LABEL_INSTANCE = "dbplay.instance"
#: bytes a sandbox may write; enforced by Docker (storage_opt) or the StorageGuard
LABEL_STORAGE_CAP = "dbplay.storage_cap"
DEFAULT_INSTANCE = "default"
READY_TIMEOUT_S = 60.0
#: how often Docker restarts a sandbox container whose server died (``on-failure``)
RESTART_ATTEMPTS = 3


def block_host_input(bridge: str) -> None:
    """Keep sandboxes from opening connections to the host itself.

    An internal network stops traffic *through* the host (no egress), but packets for the
    host's own addresses are delivered locally, so a sandbox could reach any host service
    listening on 0.0.0.0. Two INPUT rules on the bridge allow only replies to connections
    the host opened. Needs root and iptables; otherwise a warning says it is missing."""
    rules = [["-i", bridge, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED",
              "-j", "ACCEPT"], ["-i", bridge, "-j", "DROP"]]
    if shutil.which("iptables") is None:
        log.warning("iptables not found: sandboxes on %s can reach host services", bridge)
        return
    try:
        for position, rule in enumerate(rules, start=1):
            present = subprocess.run(["iptables", "-C", "INPUT", *rule], capture_output=True,
                                     check=False).returncode == 0
            if not present:
                subprocess.run(["iptables", "-I", "INPUT", str(position), *rule],
                               capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        log.warning("could not block host access from %s (%s): sandboxes can reach host "
                    "services", bridge, exc)


def new_password() -> str:
    return secrets.token_urlsafe(24)


class SandboxContainers:
    """Thin layer over the Docker SDK client for sandbox containers."""

    def __init__(self, client: Any, network: str = NETWORK,
                 instance: str = DEFAULT_INSTANCE) -> None:
        self.client = client
        self.network = network
        self.instance = instance
        self._storage_opt: bool | None = None
        self.ensure_network()

    # -- network ----------------------------------------------------------
    def ensure_network(self) -> None:
        import docker.errors

        try:
            network = self.client.networks.get(self.network)
        except docker.errors.NotFound:
            try:
                network = self.client.networks.create(
                    self.network, driver="bridge", internal=True,
                    options={"com.docker.network.bridge.enable_icc": "false"},
                    labels={"dbplay.network": "sandboxes"})
            except docker.errors.APIError as exc:  # created concurrently by another process
                if "already exists" not in str(exc):
                    raise
                network = self.client.networks.get(self.network)
        options = network.attrs.get("Options") or {}
        bridge = options.get("com.docker.network.bridge.name") or f"br-{network.id[:12]}"
        block_host_input(bridge)

    # -- storage cap --------------------------------------------------------
    def storage_cap_supported(self) -> bool:
        """``storage_opt size`` works on overlay2 only over xfs with project quotas (and
        on devicemapper/btrfs/zfs); elsewhere Docker refuses it. Decided once."""
        if self._storage_opt is None:
            info = self.client.info()
            driver = info.get("Driver", "")
            status = dict(info.get("DriverStatus") or [])
            backing = status.get("Backing Filesystem", "")
            self._storage_opt = driver in ("devicemapper", "btrfs", "zfs") or (
                driver == "overlay2" and backing == "xfs")
            if not self._storage_opt:
                log.info("storage driver %s on %s has no size option: the storage cap is "
                         "checked periodically instead (StorageGuard)", driver,
                         backing or "?")
        return self._storage_opt

    def disk_usage(self) -> list[tuple[str, str, dict[str, str], int]]:
        """``(id, name, labels, bytes written)`` of each running container of this
        installation; bytes written is the writable layer (``SizeRw``): what the container
        added or changed on top of its image. One API call for all of them."""
        filters = {"label": [LABEL_SANDBOX, f"{LABEL_INSTANCE}={self.instance}"],
                   "status": ["running"]}
        return [(c["Id"], (c.get("Names") or [""])[0].lstrip("/"), c.get("Labels") or {},
                 int(c.get("SizeRw") or 0))
                for c in self.client.api.containers(filters=filters, size=True)]

    # -- lifecycle ------------------------------------------------------------
    def run(self, spec: ContainerSpec, image: str, name: str, labels: dict[str, str],
            admin_password: str, limits: Limits | None = None) -> Any:
        """Start a container of ``spec`` (not yet ready); the caller waits for it."""
        limits = limits or spec.limits
        options: dict[str, Any] = {}
        if self.storage_cap_supported():
            options["storage_opt"] = {"size": str(limits.storage_bytes)}
        labels = {**labels, LABEL_INSTANCE: self.instance,
                  LABEL_STORAGE_CAP: str(limits.storage_bytes)}
        return self.client.containers.run(
            image, name=name, detach=True, labels=labels,
            environment=spec.environment(admin_password),
            network=self.network,
            # a real init as PID 1: PostgreSQL's postmaster must not be the parent of
            # orphaned processes (it takes their exit for a crashed backend and restarts)
            init=True,
            mem_limit=limits.memory_bytes, memswap_limit=limits.memory_bytes,
            nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids,
            # a server killed anyway (out of memory) starts again with its writable layer,
            # so its data; the event watcher records it instead of failing the sandbox
            restart_policy={"Name": "on-failure", "MaximumRetryCount": RESTART_ATTEMPTS},
            cap_drop=["NET_RAW", "MKNOD", "AUDIT_WRITE", "SYS_CHROOT"],
            security_opt=["no-new-privileges"],
            **options)

    def address(self, container: Any) -> str:
        networks = container.attrs["NetworkSettings"]["Networks"]
        ip = (networks.get(self.network) or {}).get("IPAddress")
        if not ip:
            container.reload()
            ip = container.attrs["NetworkSettings"]["Networks"][self.network]["IPAddress"]
        return str(ip)

    def wait_ready(self, spec: ContainerSpec, container: Any, admin_url: str,
                   timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll the engine's ``ping()`` with a short backoff until it answers."""
        deadline = time.monotonic() + timeout_s
        delay = 0.01
        engine = connect(spec.engine, admin_url, timeout_s=5)
        try:
            while True:
                if engine.ping():
                    return
                engine.close()
                if time.monotonic() > deadline:
                    raise ProvisionError(f"{spec.engine} sandbox {container.name} did not "
                                         f"answer within {timeout_s:.0f}s")
                container.reload()
                if container.status not in ("created", "running"):
                    logs = container.logs(tail=20).decode(errors="replace")
                    raise ProvisionError(f"{spec.engine} sandbox {container.name} exited "
                                         f"while starting:\n{logs}")
                time.sleep(delay)
                delay = min(delay * 1.5, 0.2)
        finally:
            engine.close()

    def get(self, name_or_id: str) -> Any | None:
        import docker.errors

        try:
            return self.client.containers.get(name_or_id)
        except docker.errors.NotFound:
            return None

    def get_image(self, tag: str) -> Any | None:
        import docker.errors

        try:
            return self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return None

    def remove(self, name_or_id: str) -> None:
        """Force-remove a container and its anonymous volumes. Idempotent."""
        import docker.errors

        try:
            self.client.api.remove_container(name_or_id, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:  # removal already in progress
            if "already in progress" not in str(exc):
                raise

    def kill(self, name_or_id: str) -> None:
        """Stop a container at once, keeping it (and its logs) for inspection. Idempotent."""
        import docker.errors

        try:  # no restart after a deliberate kill (storage cap)
            self.client.api.update_container(name_or_id, restart_policy={"Name": "no"})
            self.client.api.kill(name_or_id)
        except docker.errors.APIError as exc:  # gone, or not running any more
            log.debug("kill %s: %s", name_or_id, exc)

    def run_state(self, name_or_id: str) -> tuple[str, int]:
        """``(status, memory limit in bytes)`` of a container; ``("gone", 0)`` if removed.
        ``restarting`` means Docker is starting it again after its server died."""
        import docker.errors

        try:
            attrs = self.client.api.inspect_container(name_or_id)
        except docker.errors.NotFound:
            return "gone", 0
        status = "restarting" if attrs["State"].get("Restarting") else attrs["State"]["Status"]
        return str(status), int(attrs["HostConfig"].get("Memory") or 0)

    def list(self, *label_filters: str) -> list[Any]:
        filters = {"label": [LABEL_SANDBOX, f"{LABEL_INSTANCE}={self.instance}",
                             *label_filters]}
        return list(self.client.containers.list(all=True, filters=filters))
