#!/usr/bin/env python3
"""packaging/k8s/check.py — checks the Kubernetes manifests; run check.sh.

What it checks (each failure is one line naming the file and object):
  - every *.yaml parses (duplicate keys are errors), every object has a known
    apiVersion/kind, a DNS-1123 name and the rentezy namespace;
  - kustomization.yaml lists every manifest (and renders, when kubectl is
    installed);
  - per role (api, search, realtime): a Deployment, Service,
    PodDisruptionBudget and HorizontalPodAutoscaler that agree with each
    other; one image for all roles; /healthz liveness and /readyz readiness
    probes; requests and limits; RollingUpdate with maxUnavailable 0;
  - each role's plugin list (its ConfigMap's 50-roles.conf) is the one the
    role is for, names plugin folders that exist in plugins/ (or hello), and
    includes what those plugins require;
  - every *_file key names a file of a mounted Secret that has that key;
    every path the daemon writes is on a writable volume; the listen port is
    the container port; workers fit the CPU limit; the grace period covers
    shutdown_timeout plus preStop;
  - the Ingress sends /v1/ws, /v1/chat to realtime, /v1/search to search, the
    rest to api, and every route a plugin documents (plugins/*/openapi.json)
    to a role that loads that plugin;
  - the Dockerfile builds FROM debian:12-slim from the .deb packages and runs
    as the uid the Deployments expect;
  - with a build (BUILD=build by default), `rentezyd --check-config` on each
    role's merged configuration, for roles whose plugins are all built.

Plugins the design plans but that are not in plugins/ yet are reported as
"pending", not as errors, unless STRICT=1.
"""
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("BUILD", "build")
STRICT = os.environ.get("STRICT", "0") == "1"
NS = "rentezy"

ROLES = {
    "api": ["auth", "property", "booking", "visit", "rent", "web"],
    "search": ["search"],
    "realtime": ["chat", "notify"],
}
# Routes the Ingress must send to a role, whatever the plugins document.
REQUIRED_ROUTES = {"/v1/ws": "realtime", "/v1/chat": "realtime", "/v1/search": "search",
                   "/v1/auth/login": "api", "/v1/properties": "api", "/": "api"}
# The domains in docs (DESIGN): a role may name one before its folder lands.
PLANNED = {"auth", "property", "booking", "visit", "rent", "search", "chat", "notify", "web"}

KINDS = {
    ("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"),
    ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("networking.k8s.io/v1", "Ingress"),
}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

errors = []
notes = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def note(msg):
    notes.append(msg)


try:
    import yaml
except ImportError:
    print("check: python3-yaml is missing: apt-get install python3-yaml (make deps)", file=sys.stderr)
    sys.exit(1)


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one)."""


def _mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


# ---- the configuration format of rentezy.d(5) ----------------------------------------
def parse_conf(text, where):
    """[section] / key = value / # and ; comments -> {section: {key: value}}."""
    out = {}
    section = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[([a-z0-9_.-]+)\]", line)
        if m:
            section = out.setdefault(m.group(1), {})
            continue
        m = re.fullmatch(r"([a-z0-9_.-]+)\s*=\s*(.*)", line)
        if not m:
            err(f"{where}:{n}", f"not a section, key = value or comment: {raw!r}")
            continue
        if section is None:
            err(f"{where}:{n}", "key outside any [section]")
            continue
        section[m.group(1)] = m.group(2).strip()
    return out


def merge(named):
    """[(file, config)] in order -> merged config, {(section, key): file}."""
    out, src = {}, {}
    for fn, c in named:
        for s, kv in c.items():
            out.setdefault(s, {}).update(kv)
            for k in kv:
                src[(s, k)] = fn
    return out, src


def conf_list(v):
    return [x for x in re.split(r"[\s,]+", v or "") if x]


def duration_s(v):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", (v or "").strip())
    if not m:
        return None
    n = int(m.group(1))
    return {"ms": n / 1000, "s": n, None: n, "m": 60 * n, "h": 3600 * n}[m.group(2)]


def cpu_cores(v):
    v = str(v)
    return int(v[:-1]) / 1000 if v.endswith("m") else float(v)


# ---- load -----------------------------------------------------------------------
objs = {}      # (kind, name) -> object
origin = {}    # (kind, name) -> file
manifests = sorted(glob.glob(os.path.join(HERE, "*.yaml")))
for path in manifests:
    rel = os.path.relpath(path, TOP)
    if os.path.basename(path) == "kustomization.yaml":
        continue
    try:
        with open(path, encoding="utf-8") as f:
            docs = list(yaml.load_all(f, Loader=StrictLoader))
    except yaml.YAMLError as e:
        err(rel, f"invalid YAML: {e}")
        continue
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            err(rel, "a document is not a mapping")
            continue
        kind, api = doc.get("kind"), doc.get("apiVersion")
        name = (doc.get("metadata") or {}).get("name", "")
        where = f"{rel}: {kind}/{name}"
        if (api, kind) not in KINDS:
            err(where, f"unexpected apiVersion/kind {api}/{kind}")
        if not DNS1123.match(str(name)):
            err(where, f"metadata.name {name!r} is not a DNS-1123 label")
        if kind != "Namespace" and doc["metadata"].get("namespace") != NS:
            err(where, f"metadata.namespace must be {NS}")
        if (doc["metadata"].get("labels") or {}).get("app.kubernetes.io/part-of") != "rentezy":
            err(where, "label app.kubernetes.io/part-of: rentezy is missing")
        if (kind, name) in objs:
            err(where, f"defined twice (also in {origin[(kind, name)]})")
        objs[(kind, name)] = doc
        origin[(kind, name)] = rel


def get(kind, name):
    return objs.get((kind, name))


def where(kind, name):
    return f"{origin.get((kind, name), 'packaging/k8s')}: {kind}/{name}"


# ---- kustomization ------------------------------------------------------------------
kz_path = os.path.join(HERE, "kustomization.yaml")
try:
    with open(kz_path, encoding="utf-8") as f:
        kz = yaml.load(f, Loader=StrictLoader) or {}
except (OSError, yaml.YAMLError) as e:
    err("packaging/k8s/kustomization.yaml", str(e))
    kz = {}
listed = set(kz.get("resources") or [])
for path in manifests:
    b = os.path.basename(path)
    if b in ("kustomization.yaml", "secrets.example.yaml"):
        continue
    if b not in listed:
        err("packaging/k8s/kustomization.yaml", f"resources does not list {b}")
for r in listed:
    if not os.path.exists(os.path.join(HERE, r)):
        err("packaging/k8s/kustomization.yaml", f"resources lists {r}, which does not exist")
if "secrets.example.yaml" in listed:
    err("packaging/k8s/kustomization.yaml", "must not apply secrets.example.yaml (placeholders)")
if shutil.which("kubectl"):
    p = subprocess.run(["kubectl", "kustomize", HERE], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        err("packaging/k8s/kustomization.yaml", f"kubectl kustomize failed: {p.stderr.strip()[:400]}")

# ---- the Dockerfile ---------------------------------------------------------------------
docker_uid = None
docker_port = None
df_path = os.path.join(HERE, "Dockerfile")
try:
    df = open(df_path, encoding="utf-8").read()
except OSError:
    err("packaging/k8s/Dockerfile", "missing")
    df = ""
if df:
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", df, re.M))
    if not re.search(r"^FROM\s+debian:12-slim\s*$", df, re.M):
        err("packaging/k8s/Dockerfile", "must build FROM debian:12-slim")
    if not re.search(r"^COPY\s+build/packages/\*\.deb\s", df, re.M):
        err("packaging/k8s/Dockerfile", "must COPY build/packages/*.deb")
    if "apt-get install" not in df or "./*.deb" not in df:
        err("packaging/k8s/Dockerfile", "must install the .deb packages with apt-get")
    m = re.search(r"^USER\s+(\S+)", df, re.M)
    if m:
        u = re.sub(r"\$\{(\w+)\}", lambda x: args.get(x.group(1), "?"), m.group(1)).split(":")[0]
        docker_uid = int(u) if u.isdigit() else None
    if docker_uid is None:
        err("packaging/k8s/Dockerfile", "USER must be a numeric uid (runAsNonRoot cannot check a name)")
    m = re.search(r"^EXPOSE\s+(\d+)", df, re.M)
    docker_port = int(m.group(1)) if m else None
    if not re.search(r'^ENTRYPOINT\s+\["/usr/sbin/rentezyd"', df, re.M):
        err("packaging/k8s/Dockerfile", 'ENTRYPOINT must be ["/usr/sbin/rentezyd"]')

# ---- what the tree has --------------------------------------------------------------------
# plugins/common is shared helper code compiled into each plugin, not a plugin
plugin_dirs = sorted(d for d in (os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(TOP, "plugins", "*", ""))) if d != "common")
available = set(plugin_dirs) | {"hello"}


def plugin_requires(name):
    """Plugin names (not cap:...) in the plugin's *_requires[] array."""
    out = set()
    for src in glob.glob(os.path.join(TOP, "plugins", name, "*.c")):
        text = open(src, encoding="utf-8", errors="replace").read()
        for body in re.findall(r"requires\s*\[\s*\]\s*=\s*\{([^}]*)\}", text):
            out |= {s for s in re.findall(r'"([^"]+)"', body) if not s.startswith("cap:")}
    return out


packaged = {}
for path in sorted(glob.glob(os.path.join(TOP, "etc", "rentezy.d", "*.conf"))):
    packaged[os.path.basename(path)] = open(path, encoding="utf-8").read()


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# ---- the roles ---------------------------------------------------------------------------
images = {}
role_conf = {}      # role -> (files {name: text}, merged config)
role_plugins = {}   # role -> [plugins]
for role, want in ROLES.items():
    name = f"rentezy-{role}"
    dep = get("Deployment", name)
    W = where("Deployment", name)
    if not dep:
        err("packaging/k8s", f"no Deployment {name} for role {role}")
        continue
    spec = dep.get("spec") or {}
    tmpl = spec.get("template") or {}
    pod = tmpl.get("spec") or {}
    tlabels = (tmpl.get("metadata") or {}).get("labels") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    if not labels_match(sel, tlabels):
        err(W, "spec.selector.matchLabels does not match the pod template's labels")
    if tlabels.get("app.kubernetes.io/component") != role:
        err(W, f"pod label app.kubernetes.io/component must be {role}")
    strat = spec.get("strategy") or {}
    ru = strat.get("rollingUpdate") or {}
    if strat.get("type") != "RollingUpdate" or str(ru.get("maxUnavailable")) not in ("0", "0%"):
        err(W, "strategy must be RollingUpdate with maxUnavailable: 0")
    ctrs = pod.get("containers") or []
    if len(ctrs) != 1:
        err(W, "expected exactly one container")
        continue
    c = ctrs[0]
    images[role] = c.get("image")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    port = ports.get("http")
    if not port:
        err(W, "the container needs a port named http")
    if docker_port and port != docker_port:
        err(W, f"containerPort {port} is not the Dockerfile's EXPOSE {docker_port}")

    def probe_ok(p, path):
        g = (p or {}).get("httpGet") or {}
        return g.get("path") == path and g.get("port") in ("http", port)
    if not probe_ok(c.get("livenessProbe"), "/healthz"):
        err(W, "livenessProbe must GET /healthz on the http port")
    if not probe_ok(c.get("readinessProbe"), "/readyz"):
        err(W, "readinessProbe must GET /readyz on the http port")
    res = c.get("resources") or {}
    for kind_ in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(kind_) or {}):
                err(W, f"resources.{kind_}.{r} is missing")
    psc = pod.get("securityContext") or {}
    if not psc.get("runAsNonRoot"):
        err(W, "securityContext.runAsNonRoot must be true")
    if docker_uid is not None and psc.get("runAsUser") != docker_uid:
        err(W, f"runAsUser {psc.get('runAsUser')} is not the image's uid {docker_uid}")
    csc = c.get("securityContext") or {}
    if csc.get("allowPrivilegeEscalation") is not False:
        err(W, "allowPrivilegeEscalation must be false")
    ro_root = bool(csc.get("readOnlyRootFilesystem"))

    # Volumes and what they hold.
    vols = {v.get("name"): v for v in pod.get("volumes") or []}
    mounts = c.get("volumeMounts") or []
    for m in mounts:
        if m.get("name") not in vols:
            err(W, f"volumeMount {m.get('name')} has no volume")
    for vname, v in vols.items():
        if "configMap" in v and not get("ConfigMap", v["configMap"].get("name")):
            err(W, f"volume {vname}: ConfigMap {v['configMap'].get('name')} is not defined")
        if "secret" in v:
            sec = get("Secret", v["secret"].get("secretName"))
            if not sec:
                err(W, f"volume {vname}: Secret {v['secret'].get('secretName')} is not in secrets.example.yaml")
            else:
                keys = set((sec.get("stringData") or {}).keys()) | set((sec.get("data") or {}).keys())
                for it in v["secret"].get("items") or []:
                    if it.get("key") not in keys:
                        err(W, f"volume {vname}: Secret {sec['metadata']['name']} has no key {it.get('key')}")
        if "persistentVolumeClaim" in v and not get("PersistentVolumeClaim", v["persistentVolumeClaim"].get("claimName")):
            err(W, f"volume {vname}: PersistentVolumeClaim {v['persistentVolumeClaim'].get('claimName')} is not defined")

    # The configuration the pod reads: the packaged files plus mounted ones.
    files = dict(packaged)
    files["05-container.conf"] = "[host]\nlisten = 0.0.0.0:8080\n"  # from the Dockerfile
    file_where = {fn: f"etc/rentezy.d/{fn}" for fn in packaged}
    file_where["05-container.conf"] = "packaging/k8s/Dockerfile: 05-container.conf"
    for m in mounts:
        mp = m.get("mountPath", "")
        if not mp.startswith("/etc/rentezy.d/"):
            continue
        v = vols.get(m.get("name")) or {}
        cm = get("ConfigMap", (v.get("configMap") or {}).get("name"))
        key = m.get("subPath")
        if not cm or not key or key not in (cm.get("data") or {}):
            err(W, f"mount {mp}: expected subPath of a key of a defined ConfigMap")
            continue
        if os.path.basename(mp) != key:
            err(W, f"mount {mp}: file name differs from the ConfigMap key {key}")
        files[os.path.basename(mp)] = cm["data"][key]
        file_where[os.path.basename(mp)] = f"{where('ConfigMap', cm['metadata']['name'])} {key}"
    if "50-roles.conf" not in files:
        err(W, "no ConfigMap mounted as /etc/rentezy.d/50-roles.conf")
        continue
    cfg, src = merge([(k, parse_conf(files[k], file_where[k])) for k in sorted(files)])
    role_conf[role] = (files, cfg)
    host = cfg.get("host", {})

    def KW(section, key):
        """Where [section] key was set, for messages."""
        return f"{file_where.get(src.get((section, key)), RW)} (role {role})"

    plugins = conf_list(host.get("plugins"))
    role_plugins[role] = plugins
    RW = f"{where('ConfigMap', name)} 50-roles.conf"
    if sorted(plugins) != sorted(want):
        err(RW, f"role {role} must load {', '.join(want)}; it loads {', '.join(plugins) or 'nothing'}")
    for p in plugins:
        if p in available:
            missing = plugin_requires(p) - set(plugins)
            if missing:
                err(RW, f"plugin {p} requires {', '.join(sorted(missing))}, which role {role} does not load")
        elif p in PLANNED:
            (err if STRICT else lambda w, m: note(f"pending: {m}"))(
                RW, f"role {role} names plugin {p}, which is not in plugins/ yet")
        else:
            err(RW, f"role {role} names plugin {p}, but there is no plugins/{p}/ (nor is it hello)")

    # listen, workers, grace period.
    lport = (host.get("listen") or "").rsplit(":", 1)[-1]
    if port and lport != str(port):
        err(KW("host", "listen"), f"[host] listen {host.get('listen')} is not on the container port {port}")
    workers = host.get("workers", "auto")
    lim = (res.get("limits") or {}).get("cpu")
    if not workers.isdigit():
        err(RW, "[host] workers must be a number: auto counts the node's CPUs, not the container's")
    elif lim and int(workers) > math.ceil(cpu_cores(lim)):
        err(RW, f"[host] workers = {workers} exceeds the CPU limit {lim}")
    stop = duration_s(host.get("shutdown_timeout", "10s")) or 10
    pre = 0
    ex = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command") or []
    if len(ex) == 2 and ex[0].endswith("sleep") and ex[1].isdigit():
        pre = int(ex[1])
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace < stop + pre:
        err(W, f"terminationGracePeriodSeconds {grace} < shutdown_timeout {stop}s + preStop {pre}s")

    # Secrets as files, and writable paths.
    for sec_name, kv in cfg.items():
        for k, val in kv.items():
            if k.endswith("_file") and val:
                ok = False
                for m in mounts:
                    mp = m.get("mountPath", "").rstrip("/")
                    v = vols.get(m.get("name")) or {}
                    if "secret" not in v or os.path.dirname(val) != mp:
                        continue
                    sec = get("Secret", v["secret"].get("secretName")) or {}
                    keys = set((sec.get("stringData") or {}).keys()) | set((sec.get("data") or {}).keys())
                    items = v["secret"].get("items")
                    names = {it.get("path") for it in items} if items else keys
                    ok = os.path.basename(val) in names
                if not ok:
                    err(KW(sec_name, k), f"[{sec_name}] {k} = {val}: no mounted Secret provides this file")
            elif val.startswith("/var/lib/rentezy") and ro_root:
                if not any(val == m.get("mountPath") or val.startswith(m.get("mountPath", "").rstrip("/") + "/")
                           for m in mounts if not m.get("readOnly")):
                    err(KW(sec_name, k), f"[{sec_name}] {k} = {val}: not on a writable volume (the root filesystem is read-only)")

    # Service, PodDisruptionBudget, HorizontalPodAutoscaler.
    svc = get("Service", name)
    if not svc:
        err("packaging/k8s", f"no Service {name}")
    else:
        if not labels_match((svc.get("spec") or {}).get("selector"), tlabels):
            err(where("Service", name), "selector does not select the role's pods")
        sp = {p.get("name"): p for p in (svc.get("spec") or {}).get("ports") or []}
        if "http" not in sp or sp["http"].get("targetPort") not in ("http", port):
            err(where("Service", name), "needs a port named http targeting the container's http port")
    hpa = get("HorizontalPodAutoscaler", name)
    min_rep = None
    if not hpa:
        err("packaging/k8s", f"no HorizontalPodAutoscaler {name}")
    else:
        hs = hpa.get("spec") or {}
        ref = hs.get("scaleTargetRef") or {}
        if ref.get("kind") != "Deployment" or ref.get("name") != name:
            err(where("HorizontalPodAutoscaler", name), f"scaleTargetRef must be Deployment {name}")
        min_rep = hs.get("minReplicas", 1)
        if min_rep < 2:
            err(where("HorizontalPodAutoscaler", name), "minReplicas must be at least 2 (one pod is no availability)")
        if hs.get("maxReplicas", 0) < min_rep:
            err(where("HorizontalPodAutoscaler", name), "maxReplicas < minReplicas")
        if not hs.get("metrics"):
            err(where("HorizontalPodAutoscaler", name), "no metrics")
        if "replicas" in spec:
            err(W, "spec.replicas fights the HorizontalPodAutoscaler on every apply; leave it out")
    pdb = get("PodDisruptionBudget", name)
    if not pdb:
        err("packaging/k8s", f"no PodDisruptionBudget {name}")
    else:
        ps = pdb.get("spec") or {}
        if not labels_match((ps.get("selector") or {}).get("matchLabels"), tlabels):
            err(where("PodDisruptionBudget", name), "selector does not select the role's pods")
        if "minAvailable" not in ps and "maxUnavailable" not in ps:
            err(where("PodDisruptionBudget", name), "needs minAvailable or maxUnavailable")
        if isinstance(ps.get("minAvailable"), int) and min_rep is not None and ps["minAvailable"] >= min_rep:
            err(where("PodDisruptionBudget", name), "minAvailable >= minReplicas: no pod could ever be evicted")

if len(set(images.values())) > 1:
    err("packaging/k8s", f"roles must run one image; found {sorted(set(images.values()))}")

loaded_somewhere = {p for ps in role_plugins.values() for p in ps}
for p in plugin_dirs:
    if p not in loaded_somewhere:
        (err if STRICT else lambda w, m: note(f"note: {m}"))(
            "packaging/k8s", f"plugins/{p} is in no role: add it to a role's 50-roles.conf")

# ---- the Ingress ------------------------------------------------------------------------
svc_role = {f"rentezy-{r}": r for r in ROLES}
routes = []   # (path, role)
ings = [o for (k, _), o in objs.items() if k == "Ingress"]
if len(ings) != 1:
    err("packaging/k8s", f"expected one Ingress, found {len(ings)}")
for ing in ings:
    IW = where("Ingress", ing["metadata"]["name"])
    for rule in (ing.get("spec") or {}).get("rules") or []:
        for p in (rule.get("http") or {}).get("paths") or []:
            b = ((p.get("backend") or {}).get("service") or {})
            path = p.get("path")
            if p.get("pathType") not in ("Prefix", "Exact"):
                err(IW, f"path {path}: pathType must be Prefix or Exact")
            svc = get("Service", b.get("name"))
            if not svc:
                err(IW, f"path {path}: Service {b.get('name')} is not defined")
                continue
            pn = (b.get("port") or {}).get("name")
            if pn and pn not in {x.get("name") for x in svc["spec"].get("ports") or []}:
                err(IW, f"path {path}: Service {b.get('name')} has no port {pn}")
            if b.get("name") in svc_role:
                routes.append((path, p.get("pathType"), svc_role[b["name"]]))


def route(path):
    """The role the Ingress sends PATH to: the longest matching path wins;
    Prefix matches whole segments (Kubernetes' rule)."""
    best, role = -1, None
    segs = [s for s in path.split("/") if s]
    for p, typ, r in routes:
        ps = [s for s in p.split("/") if s]
        hit = (path == p) if typ == "Exact" else segs[:len(ps)] == ps
        if hit and len(p) > best:
            best, role = len(p), r
    return role


for path, want_role in REQUIRED_ROUTES.items():
    got = route(path)
    if got != want_role:
        err("packaging/k8s/ingress.yaml", f"{path} must go to {want_role}; it goes to {got}")
for p in plugin_dirs:
    spec_path = os.path.join(TOP, "plugins", p, "openapi.json")
    if not os.path.exists(spec_path):
        continue
    try:
        paths = json.load(open(spec_path, encoding="utf-8"))
        paths = paths.get("paths", paths)
    except ValueError as e:
        err(os.path.relpath(spec_path, TOP), f"invalid JSON: {e}")
        continue
    for path in paths:
        if not path.startswith("/"):
            continue
        r = route(re.sub(r"\{[^}]*\}", "x", path))
        if r is None or p not in role_plugins.get(r, []):
            owners = [x for x, ps in role_plugins.items() if p in ps]
            err("packaging/k8s/ingress.yaml",
                f"{path} (plugin {p}) goes to {r or 'nothing'}, which does not load {p}"
                + (f"; route it to {', '.join(owners)}" if owners else "; no role loads it"))

# ---- rentezyd --check-config on each role ----------------------------------------------------
rzd = os.path.join(TOP, BUILD, "rentezyd")
plugdir = os.path.join(TOP, BUILD, "plugins")
if not os.access(rzd, os.X_OK):
    note(f"note: {BUILD}/rentezyd is not built: role configurations not checked with rentezyd --check-config")
else:
    tmp = tempfile.mkdtemp(prefix="rentezy-k8s-check.")
    try:
        keys_ok = False
        if shutil.which("openssl"):
            k = os.path.join(tmp, "private.pem")
            a = subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", k + ".ec"],
                               capture_output=True)
            b = subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", k + ".ec", "-out", k],
                               capture_output=True)
            c2 = subprocess.run(["openssl", "ec", "-in", k, "-pubout", "-out", os.path.join(tmp, "public.pem")],
                                capture_output=True)
            keys_ok = a.returncode == b.returncode == c2.returncode == 0
        with open(os.path.join(tmp, "url"), "w") as f:
            f.write("postgresql://rentezy:placeholder@127.0.0.1:1/rentezy\n")
        for role, (files, cfg) in role_conf.items():
            missing = [p for p in role_plugins[role] if not os.path.exists(os.path.join(plugdir, p + ".so"))]
            if missing:
                note(f"pending: role {role} not checked with rentezyd --check-config: "
                     f"{', '.join(missing)} not built in {BUILD}/plugins")
                continue
            if not keys_ok:
                note(f"note: role {role} not checked with rentezyd: openssl could not make test keys")
                continue
            d = os.path.join(tmp, role)
            os.makedirs(d)
            for fn, text in files.items():
                with open(os.path.join(d, fn), "w") as f:
                    f.write(text)
            env = {k: v for k, v in os.environ.items() if not k.startswith("RENTEZY_")}
            env["RENTEZY_HOST_PLUGIN_DIR"] = plugdir
            for sec_name, kv in cfg.items():
                var = "RENTEZY_" + re.sub(r"[.-]", "_", sec_name).upper() + "_"
                for k, val in kv.items():
                    if k.endswith("_file") and val:
                        env[var + k.upper()] = os.path.join(tmp, os.path.basename(val))
                    elif val.startswith("/var/lib/rentezy"):
                        env[var + k.upper()] = os.path.join(d, "state", k)
            p = subprocess.run([rzd, "-c", d, "--check-config"], capture_output=True, text=True,
                               env=env, timeout=60)
            if p.returncode != 0:
                out = (p.stdout + p.stderr).strip().splitlines()
                why = [l for l in out if l.startswith("rentezyd:")] or out[-3:]
                err(f"{where('ConfigMap', 'rentezy-' + role)}",
                    "rentezyd --check-config fails on the role's configuration: " + " | ".join(why)[:600])
            else:
                note(f"ok: role {role}: rentezyd --check-config: {p.stdout.strip()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

for n in notes:
    print(n)
for e in errors:
    print("error:", e)
roles_txt = "; ".join(f"{r}: {', '.join(ps)}" for r, ps in role_plugins.items())
if errors:
    print(f"k8s: {len(errors)} error(s)")
    sys.exit(1)
print(f"k8s: {len(objs)} objects in {len(manifests)} files OK ({roles_txt})")
