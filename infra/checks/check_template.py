#!/usr/bin/env python3
"""Checks that infra/template.yaml and the code agree.

    check_template.py --mfa-local PATH_TO_BUILT_MFA_LOCAL --mfa-cli PATH_TO_BUILT_MFA

- functions: every Lambda crate under functions/ has a function in the template and every
  function's Binary is a binary the workspace builds; runtime, architecture, build method;
  each function has its own log group (with the retention parameter) and Errors and Throttles
  alarms;
- the table: key names and types and the TTL attribute are the ones store/dynamo.rs uses;
- environment: every MFA_ variable the Lambda code reads is set for every function, either in
  its environment or in the secret (`mfa secret`, functions/cli), but for the optional ones listed in
  NOT_IN_TEMPLATE with their reason; the template sets none that the code doesn't read; a
  parameter that may be empty feeds a variable read as optional; a parameter's default is the
  default config.rs gives its variable; no secret value is an environment variable or a
  parameter;
- permissions: each role's DynamoDB actions are data-plane requests store/dynamo.rs makes, on the
  table only; SMS only to phone numbers, never to a topic; email only as the SES identity; only
  the stack's secret and key;
- voice: the voice policy grants exactly sms-voice:SendVoiceMessage, on the origination identity
  and the protect configuration (no `*` resource), only when calls are on, to the roles that text
  codes but the webhook's; sms-voice:CarrierLookup (no resource type) is granted only when VoIP
  numbers are refused, to the roles of the functions that look numbers up (check_line in
  domain/); the protect configuration has a rule for every country of its list,
  the same for SMS and VOICE, and (its conditions evaluated here) allows exactly
  ProtectAllowedCountries;
- the secret's generated values and the template's default environment start the real service:
  mfa-local is started with exactly them, and the generated API keys are accepted;
- routes: the template's HTTP API routes are the ones the OpenAPI document served by mfa-local
  and the router (the `fn {group}_api` of http/mod.rs, with each handler's `#[utoipa::path]`) declare, each on its group's function.

Prints one line per check and `N passed, M failed`; exits 1 when any failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
SERVICE_SRC = ROOT / "functions" / "service" / "src"
# The crates under functions/ that are no Lambda function: the service library, mfa-local, the
# wire format, the client and the operator's CLI.
NOT_LAMBDA_CRATES = {"service", "local", "api", "client", "cli"}
# Variables the functions read but the template leaves unset on purpose; each must be optional
# in config.rs (read with `optional`, so unset is a valid configuration).
NOT_IN_TEMPLATE = {
    "MFA_SNS_TRUST_ANCHOR_PEM": "a pin for the SNS signing certificate, made for tests; in AWS the "
    "certificate is trusted for coming over TLS from the SNS host (functions/service/src/sns.rs)",
    "MFA_SNS_CERTIFICATE_DIR": "certificates read from a directory instead of fetched, only with "
    "the trust anchor above (the e2e run); in AWS they are fetched from the SNS host",
}
METHODS = ("get", "post", "put", "delete", "patch")


# --- the template ------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short intrinsic tags (!Ref, !Sub, !GetAtt, !If, ...)."""


def _intrinsic(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template():
    with open(TEMPLATE, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


def functions_of(template):
    return {
        name: r for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }


def binary_of(function):
    return function.get("Metadata", {}).get("BuildProperties", {}).get("Binary")


def environment_of(template, function):
    merged = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {})
                  .get("Variables", {}))
    merged.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    return merged


def refs(value):
    """Every logical id or parameter a value refers to."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0]
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                yield from (m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text))
            else:
                yield from refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from refs(inner)


def parameter_values(template, overrides=None):
    """Each parameter's value: its default, or the override given; a CommaDelimitedList's as a
    list."""
    values = {}
    for name, parameter in template.get("Parameters", {}).items():
        value = (overrides or {}).get(name, parameter.get("Default", ""))
        if parameter["Type"] == "CommaDelimitedList" and isinstance(value, str):
            value = value.split(",")
        values[name] = value if isinstance(value, list) else str(value)
    return values


def evaluate(template, value, parameters=None):
    """A template value as CloudFormation works it out, with `parameters` (parameter_values):
    Ref, Fn::Join, Fn::Split, Fn::Select, the condition functions and Fn::If. Resources become
    made-up names and ARNs of their kind."""
    parameters = parameter_values(template) if parameters is None else parameters

    def ev(inner):
        return evaluate(template, inner, parameters)

    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list):
        return [ev(v) for v in value]
    (function, args), = value.items()
    if function == "Ref":
        if args in parameters:
            return parameters[args]
        kind = template["Resources"][args]["Type"]
        return {
            "AWS::SNS::Topic": f"arn:aws:sns:us-east-1:123456789012:{args}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{args}",
        }.get(kind, f"check-{args}")
    if function == "Fn::Join":
        return args[0].join(ev(args[1]))
    if function == "Fn::Split":
        return ev(args[1]).split(args[0])
    if function == "Fn::Select":
        return ev(args[1])[int(ev(args[0]))]
    if function == "Fn::Equals":
        return ev(args[0]) == ev(args[1])
    if function == "Fn::Not":
        return not ev(args[0])
    if function == "Fn::And":
        return all(ev(a) for a in args)
    if function == "Fn::Or":
        return any(ev(a) for a in args)
    if function == "Condition":
        return ev(template["Conditions"][args])
    if function == "Fn::If":
        return ev(args[1] if ev({"Condition": args[0]}) else args[2])
    if function == "Fn::Sub" and isinstance(args, str):
        pseudo = {"AWS::StackName": "check-stack", "AWS::Region": "us-east-1"}
        return re.sub(r"\$\{([\w:]+)\}",
                      lambda m: pseudo.get(m[1]) or str(ev({"Ref": m[1]})), args)
    raise ValueError(f"no check-time value for {value!r}")


def resolve(template, value):
    """A template value as the functions would see it with the parameters' defaults; resources
    become made-up names and ARNs of their kind."""
    value = evaluate(template, value)
    return ",".join(value) if isinstance(value, list) else value


# --- the code ----------------------------------------------------------------------------------


def without_tests(text):
    """Rust source up to its unit-test module."""
    match = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    return text[: match.start()] if match else text


def lambda_crates():
    return sorted(
        p.name for p in (ROOT / "functions").iterdir()
        if (p / "Cargo.toml").exists() and p.name not in NOT_LAMBDA_CRATES
    )


def lambda_sources():
    dirs = [SERVICE_SRC] + [ROOT / "functions" / c / "src" for c in lambda_crates()]
    return [f for d in dirs if d.exists() for f in sorted(d.rglob("*.rs"))]


TOP_LEVEL_ITEM = re.compile(
    r"^(?:pub(?:\([^)]*\))? )?(?:async )?(?:fn|struct|enum|impl(?:<[^>]*>)?|mod) (\w+)", re.M)


def without_local_items(text):
    """Rust source without its top-level items that exist for mfa-local only (by name:
    `LocalSettings`, `run_local`, ...)."""
    starts = list(TOP_LEVEL_ITEM.finditer(text))
    kept, last = [], 0
    for this, following in zip(starts, starts[1:] + [None]):
        end = following.start() if following else len(text)
        if "local" in this.group(1).lower():
            kept.append(text[last:this.start()])
            last = end
    kept.append(text[last:])
    return "".join(kept)


def variables_read_by_lambda_code():
    """MFA_ names in the Lambda functions' code (the service library and the function crates),
    not counting unit tests and what only mfa-local reads."""
    names = set()
    for path in lambda_sources():
        text = without_local_items(without_tests(path.read_text(encoding="utf-8")))
        names.update(re.findall(r'"(MFA_[A-Z0-9_]+)"', text))
    return {n for n in names if not n.startswith("MFA_LOCAL_")}


def workspace_binaries():
    metadata = json.loads(subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    return {t["name"] for p in metadata["packages"] for t in p["targets"] if "bin" in t["kind"]}


def handler_routes():
    """handler name -> (method, path), from the `#[utoipa::path(...)]` of http/handlers.rs."""
    text = (SERVICE_SRC / "http" / "handlers.rs").read_text(encoding="utf-8")
    found = re.finditer(
        r'#\[utoipa::path\(\s*(get|post|put|delete|patch)\s*,\s*path\s*=\s*"([^"]+)"'
        r'.*?\n\s*pub async fn (\w+)', text, re.S)
    return {m.group(3): (m.group(1).upper(), m.group(2)) for m in found}


def router_routes():
    """(method, path) -> group, from the `fn {group}_api` functions in http/mod.rs: their
    `routes!(handler, ...)` (each handler's method and path from its `#[utoipa::path]`) and
    plain `.route("path", method(...))` calls."""
    text = (SERVICE_SRC / "http" / "mod.rs").read_text(encoding="utf-8")
    handlers = handler_routes()
    routes = {}
    for found in re.finditer(r"\nfn (\w+)_api\(", text):
        group = found.group(1).replace("_", "-")
        arm = text[found.end():]
        arm = arm[: arm.index("\n}\n")]
        for listed in re.findall(r"routes!\(([^)]*)\)", arm):
            for handler in (h.strip().split("::")[-1] for h in listed.split(",") if h.strip()):
                routes[handlers[handler]] = group
        for start in (m.end() for m in re.finditer(r"\.route\(", arm)):
            depth, end = 1, start
            while depth:
                depth += {"(": 1, ")": -1}.get(arm[end], 0)
                end += 1
            call = arm[start:end - 1]
            path = re.match(r'\s*"([^"]+)"', call).group(1)
            for method in re.findall(r"\b(get|post|put|delete|patch)\(", call):
                routes[(method.upper(), path)] = group
    return routes


def kebab(camel):
    return re.sub(r"(?<!^)(?=[A-Z])", "-", camel).lower()


# --- mfa-local ---------------------------------------------------------------------------------


class MfaLocal:
    """mfa-local on a free loopback port, over a throwaway data dir, with `env`."""

    def __init__(self, binary, env):
        self.data = tempfile.TemporaryDirectory(prefix="mfa-infra-check-")
        full = {k: v for k, v in os.environ.items() if not k.startswith("MFA_")}
        full.update(env)
        full.update(MFA_LOCAL_ADDR="127.0.0.1:0", MFA_LOCAL_DATA_DIR=self.data.name)
        self.log = open(Path(self.data.name) / "log", "w+", encoding="utf-8")
        self.process = subprocess.Popen([binary], env=full, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            self.process.wait(timeout=10)
            self.log.seek(0)
            raise RuntimeError(f"mfa-local did not start: {line}{self.log.read()}")
        self.url = match.group(1)

    def get(self, path, key=None):
        request = urllib.request.Request(self.url + path)
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()
        self.data.cleanup()


# --- the checks --------------------------------------------------------------------------------


class Checks:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def check(self, name, problems):
        problems = [p for p in problems if p]
        if problems:
            self.failed += 1
            print(f"FAIL {name}")
            for problem in problems:
                print(f"     - {problem}")
        else:
            self.passed += 1
            print(f"ok   {name}")


def check_functions(checks, template, binaries):
    functions = functions_of(template)
    by_binary = {binary_of(f): name for name, f in functions.items()}
    globals_ = template["Globals"]["Function"]
    problems = []
    for crate in lambda_crates():
        if f"mfa-{crate}" not in by_binary:
            problems.append(f"functions/{crate} (mfa-{crate}) has no function in the template")
    for binary, name in by_binary.items():
        if binary not in binaries:
            problems.append(
                f"{name} builds binary {binary!r}, but no workspace package has that binary"
                f" (is its crate, functions/{binary.removeprefix('mfa-')}, there yet?)")
    for name, function in functions.items():
        props = {**globals_, **function["Properties"]}
        meta = function.get("Metadata", {})
        expected = {"Runtime": "provided.al2023", "Architectures": ["arm64"],
                    "Handler": "bootstrap", "CodeUri": ".."}
        problems += [f"{name}: {k} is {props.get(k)!r}, not {v!r}"
                     for k, v in expected.items() if props.get(k) != v]
        if meta.get("BuildMethod") != "rust-cargolambda" or not binary_of(function):
            problems.append(f"{name}: Metadata needs BuildMethod rust-cargolambda and a Binary")
    checks.check(f"functions: {', '.join(sorted(b for b in by_binary))}", problems)

    resources = template["Resources"]
    problems = []
    for name, function in functions.items():
        group = function["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        log = resources.get(group, {})
        if log.get("Type") != "AWS::Logs::LogGroup":
            problems.append(f"{name} has no log group of its own (LoggingConfig.LogGroup)")
        elif log["Properties"].get("RetentionInDays") != {"Ref": "LogRetentionDays"}:
            problems.append(f"{group} does not keep logs for LogRetentionDays")
        metrics = {
            r["Properties"]["MetricName"] for r in resources.values()
            if r["Type"] == "AWS::CloudWatch::Alarm"
            and {"Name": "FunctionName", "Value": {"Ref": name}} in r["Properties"].get(
                "Dimensions", [])
        }
        problems += [f"{name} has no {m} alarm" for m in ("Errors", "Throttles") if m not in metrics]
    checks.check("every function has its log group and Errors and Throttles alarms", problems)


def emitted_metrics():
    """The service's metrics and their labels' values, from the table in telemetry.rs's docs:
    {metric: {label: {value, ...}}}. A label listed without values has those it has in an earlier
    row."""
    doc = (SERVICE_SRC / "telemetry.rs").read_text(encoding="utf-8")
    rows = re.findall(r"^//! \| `(mfa_\w+)` \|\s*([^|]*?)\s*\|", doc, re.M)
    metrics, known = {}, {}
    for name, labels in rows:
        metrics[name] = {}
        for label, listed in re.findall(r"`(\w+)`(?: \(([^)]*)\))?", labels):
            values = set(re.findall(r"`(\w+)`", listed)) if listed else known.get(label, set())
            known.setdefault(label, values)
            metrics[name][label] = values
    return metrics


def check_observability(checks, template):
    """X-Ray tracing and JSON logs on every function; the alarms and the dashboard ask for
    metrics the code emits, with its labels and their values; the alarms that mean trouble are
    there."""
    problems = []
    emitted = emitted_metrics()
    if template["Globals"]["Function"].get("Tracing") != "Active":
        problems.append("Globals.Function.Tracing is not Active (X-Ray)")
    for name, function in functions_of(template).items():
        if function["Properties"].get("LoggingConfig", {}).get("LogFormat") != "JSON":
            problems.append(f"{name}: LoggingConfig.LogFormat is not JSON")
    namespace = template["Globals"]["Function"]["Environment"]["Variables"].get(
        "MFA_METRICS_NAMESPACE")
    alarmed = set()
    for rname, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        for query in resource["Properties"].get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric")
            if not metric or metric.get("Namespace") != namespace:
                continue
            name = metric["MetricName"]
            if name not in emitted:
                problems.append(f"{rname}: the code emits no metric {name}")
                continue
            alarmed.add(name)
            for dimension in metric.get("Dimensions", []):
                label, value = dimension["Name"], dimension["Value"]
                if label not in emitted[name]:
                    problems.append(f"{rname}: {name} has no label {label}")
                elif value not in emitted[name][label]:
                    problems.append(f"{rname}: {name}'s {label} is never {value!r}")
    for needed in ("mfa_lockouts_total", "mfa_messages_refused_total", "mfa_budget_hits_total"):
        if needed not in alarmed:
            problems.append(f"no alarm on {needed}")
    dashboards = [r for r in template["Resources"].values()
                  if r["Type"] == "AWS::CloudWatch::Dashboard"]
    if not dashboards:
        problems.append("no CloudWatch dashboard")
    for dashboard in dashboards:
        body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"][0]
        shown = set(re.findall(r"\b(mfa_\w+_total)\b", body))
        problems += [f"the dashboard shows {m}, which the code does not emit"
                     for m in sorted(shown - set(emitted))]
        problems += [f"the dashboard does not show {m}" for m in sorted(set(emitted) - shown)]
        for metric, query in re.findall(
                r"SELECT SUM\((mfa_\w+)\) FROM SCHEMA\([^,]*, ([^)]*)\)", body):
            labels = {label.strip() for label in query.split(",")}
            if metric in emitted and labels != set(emitted[metric]):
                problems.append(f"the dashboard groups {metric} by {sorted(labels)}, "
                                f"not its labels {sorted(emitted[metric])}")
    checks.check(f"observability: X-Ray, JSON logs, {len(emitted)} metrics, alarms on "
                 f"{sorted(alarmed)}, a dashboard", problems)


def check_table(checks, template):
    dynamo = (SERVICE_SRC / "store" / "dynamo.rs").read_text(encoding="utf-8")
    code = {
        "HASH": re.search(r'key\("(\w+)",\s*KeyType::Hash\)', dynamo).group(1),
        "RANGE": re.search(r'key\("(\w+)",\s*KeyType::Range\)', dynamo).group(1),
        "ttl": re.search(r'\.attribute_name\("(\w+)"\)', dynamo).group(1),
    }
    code_types = set(re.findall(r"ScalarAttributeType::(\w)", dynamo))
    tables = [r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    problems = [] if len(tables) == 1 else [f"{len(tables)} tables in the template, not 1"]
    table = tables[0]["Properties"]
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    for kind in ("HASH", "RANGE"):
        if keys.get(kind) != code[kind]:
            problems.append(f"{kind} key is {keys.get(kind)!r}; dynamo.rs uses {code[kind]!r}")
        if {types.get(code[kind])} != code_types:
            problems.append(f"{code[kind]} is {types.get(code[kind])}; dynamo.rs makes {code_types}")
    ttl = table.get("TimeToLiveSpecification", {})
    if ttl.get("AttributeName") != code["ttl"] or ttl.get("Enabled") is not True:
        problems.append(f"TTL is {ttl}; dynamo.rs sets it on {code['ttl']!r}")
    if not re.search(r'item\.insert\("ttl"', dynamo) and code["ttl"] == "ttl":
        problems.append("dynamo.rs no longer writes a `ttl` attribute")
    for name, function in functions_of(template).items():
        if environment_of(template, function).get("MFA_TABLE") != {"Ref": "Table"}:
            problems.append(f"{name}: MFA_TABLE is not the template's table")
    checks.check(f"table: {code['HASH']} (HASH), {code['RANGE']} (RANGE), TTL on {code['ttl']}",
                 problems)


def check_environment(checks, template, secret_keys):
    read = variables_read_by_lambda_code()
    runtime = (SERVICE_SRC / "runtime.rs").read_text(encoding="utf-8")
    allowed_other = {"RUST_LOG"} if "from_default_env" in runtime else set()
    problems = []
    set_anywhere = set(secret_keys)
    for name, function in functions_of(template).items():
        env = environment_of(template, function)
        set_anywhere |= set(env)
        problems += [f"{name}: the code reads {v}, which neither its environment nor the secret sets"
                     for v in sorted(read - set(env) - set(secret_keys) - set(NOT_IN_TEMPLATE))]
        problems += [f"{name}: {v} is a secret's key and must not be an environment variable"
                     for v in sorted(set(env) & set(secret_keys))]
        secret_ref = env.get("MFA_SECRET_ARN")
        if secret_ref is None or template["Resources"].get(
                secret_ref.get("Ref"), {}).get("Type") != "AWS::SecretsManager::Secret":
            problems.append(f"{name}: MFA_SECRET_ARN is not the template's secret")
        for variable, value in env.items():
            for ref in refs(value):
                parameter = template.get("Parameters", {}).get(ref)
                if parameter and parameter.get("NoEcho"):
                    problems.append(f"{name}: {variable} comes from a NoEcho (secret) parameter")
    problems += [f"the template sets {v}, which the code doesn't read"
                 for v in sorted(set_anywhere - read - allowed_other)]
    # A parameter left empty means "not set up yet": config.rs must read such a variable with
    # `optional` or `text`, which take an empty value as unset.
    config = without_tests((SERVICE_SRC / "config.rs").read_text(encoding="utf-8"))
    for variable, reason in NOT_IN_TEMPLATE.items():
        if variable in set_anywhere:
            problems.append(f"{variable} is set by the template but listed as left unset ({reason})")
        elif variable in read and not re.search(rf'\boptional\("{variable}"', config):
            problems.append(f"{variable} is left unset by the template ({reason}), but config.rs "
                            "does not read it as optional")
    for variable, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
        if resolve(template, value) == "" and not re.search(
                rf'\b(optional|text)\("{variable}"', config):
            problems.append(f"{variable} defaults to empty, but config.rs does not read it as "
                            "optional (an empty value would not mean unset)")
    # A parameter's default is the code's default, so that the stack's defaults are the
    # documented ones (count, seconds and text in config.rs take the default as their second
    # argument).
    for variable, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
        parameter = template.get("Parameters", {}).get(value.get("Ref")) if isinstance(
            value, dict) else None
        match = re.search(rf'\b(?:count|seconds|text)\("{variable}",\s*("[^"]*"|[0-9_]+)\)', config)
        if parameter is not None and match:
            default = match.group(1)
            code_default = default[1:-1] if default.startswith('"') else default.replace("_", "")
            if str(parameter.get("Default", "")) != code_default:
                problems.append(f"{variable}: the template's default is "
                                f"{parameter.get('Default')!r}, config.rs's {code_default!r}")
    secret_resources = [r for r in template["Resources"].values()
                        if r["Type"] == "AWS::SecretsManager::Secret"]
    for secret in secret_resources:
        props = secret["Properties"]
        if "SecretString" in props or "GenerateSecretString" in props:
            problems.append("the secret must be created empty (`mfa secret init` fills it), not "
                            "with a value CloudFormation holds and would overwrite on update")
        problems += [f"the secret's description doesn't name {k}" for k in secret_keys
                     if k not in json.dumps(props.get("Description"))]
    checks.check(f"environment: the code reads {len(read)} MFA_ variables; "
                 f"{len(secret_keys)} come from the secret, "
                 f"{len(read & set(NOT_IN_TEMPLATE))} left unset on purpose", problems)


def statements_of(template, role):
    """Every IAM statement that reaches `role`: its inline and managed policies, and the managed
    policies that attach themselves to it."""
    resources = template["Resources"]
    props = resources[role]["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        attached = {"Ref": name} in props.get("ManagedPolicyArns", [])
        if attached or {"Ref": role} in resource["Properties"].get("Roles", []):
            documents.append(resource["Properties"]["PolicyDocument"])
    for document in documents:
        yield from document["Statement"]


def as_list(value):
    return value if isinstance(value, list) else [value]


def check_permissions(checks, template):
    """Each function's role: DynamoDB actions are data-plane requests dynamo.rs makes, on the
    table only; sns:Publish only to phone numbers; ses:SendEmail only as the identity; of sms-voice,
    SendVoiceMessage on the origination identity and protect configuration, and CarrierLookup;
    the secret only."""
    dynamo = without_tests((SERVICE_SRC / "store" / "dynamo.rs").read_text(encoding="utf-8"))
    # Data-plane requests only: the table's creation is the template's job, not the functions'.
    called = {"dynamodb:" + "".join(w.capitalize() for w in m.split("_"))
              for m in re.findall(r"\.(get_item|put_item|update_item|delete_item|query|scan|"
                                  r"transact_write_items|transact_get_items|batch_get_item|"
                                  r"batch_write_item)\(\)", dynamo)}
    # A transaction's ConditionCheck is authorised as its own action.
    if "ConditionCheck::builder()" in dynamo:
        called.add("dynamodb:ConditionCheckItem")
    # The reads and checks every function's shared paths make (policies, notices, budgets).
    needed = {"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"} & called
    allowed_resource = {
        "dynamodb:": [{"Fn::GetAtt": ["Table", "Arn"]}],
        "secretsmanager:GetSecretValue": [{"Ref": "Secret"}],
        "ses:SendEmail": [{"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
                                      ":identity/${SesIdentity}"}],
        "kms:": [{"Fn::GetAtt": ["Key", "Arn"]}],
        VOICE_ACTION: VOICE_RESOURCES,
        LOOKUP_ACTION: ["*"],
    }
    problems = []
    for name, function in functions_of(template).items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        granted = {a for st in statements_of(template, role) for a in as_list(st["Action"])}
        problems += [f"{role} may not {action}, which every function's requests need"
                     for action in sorted(needed - granted)]
        for statement in statements_of(template, role):
            for action in as_list(statement["Action"]):
                if action.startswith("dynamodb:") and action not in called:
                    problems.append(f"{role} may {action}, which dynamo.rs never requests")
                if action.startswith("sms-voice:") and action not in (VOICE_ACTION, LOOKUP_ACTION):
                    problems.append(f"{role} may {action}; the code needs {VOICE_ACTION} and "
                                    f"{LOOKUP_ACTION} only")
                if action == "sns:Publish" and statement.get("NotResource") != {
                        "Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}:
                    problems.append(f"{role} may publish to SNS topics, not only to phone numbers")
                for prefix, resources in allowed_resource.items():
                    if action.startswith(prefix) and as_list(statement.get("Resource")) != resources:
                        problems.append(f"{role}: {action} on {statement.get('Resource')}")
    checks.check(f"permissions: DynamoDB actions within {sorted(called)}, on the table; "
                 "SMS to numbers only; SES as the identity; calls from the origination identity; "
                 "line type lookups; the secret and key only", problems)


# Calls: the one action, on the configured origination identity and the stack's protect
# configuration (see VoiceSendPolicy in the template).
VOICE_ACTION = "sms-voice:SendVoiceMessage"
VOICE_RESOURCES = [{"Ref": "VoiceOriginationIdentity"},
                   {"Fn::GetAtt": ["ProtectConfiguration", "Arn"]}]
# Line type lookups, to refuse VoIP numbers (NumberLookupPolicy): an action with no resource type,
# for the roles of the functions that take a new number, found by where domain/ calls check_line.
LOOKUP_ACTION = "sms-voice:CarrierLookup"
LOOKUP_ROLES = {"enrollment.rs": "EnrollRole", "phone_change.rs": "ManageRole"}


def check_voice(checks, template):
    """The voice policy grants exactly sms-voice:SendVoiceMessage on the origination identity and
    the protect configuration, only when calls are on, to the roles that text codes (not the
    webhook's); the protect configuration allows exactly ProtectAllowedCountries."""
    resources = template["Resources"]
    problems = []
    policy = resources.get("VoiceSendPolicy", {})
    if policy.get("Type") != "AWS::IAM::ManagedPolicy":
        checks.check("voice", ["no VoiceSendPolicy managed policy in the template"])
        return
    if policy.get("Condition") != "VoiceEnabled":
        problems.append("VoiceSendPolicy is not created only when VoiceEnabled")
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        if statement.get("Effect") != "Allow" or {"NotAction", "NotResource"} & set(statement):
            problems.append(f"VoiceSendPolicy: {statement.get('Sid')} must Allow an Action on a "
                            "Resource")
        if set(as_list(statement.get("Action", []))) != {VOICE_ACTION}:
            problems.append(f"VoiceSendPolicy grants {statement.get('Action')}, not exactly "
                            f"{VOICE_ACTION}")
        granted = as_list(statement.get("Resource", []))
        if any("*" in json.dumps(r) for r in granted):
            problems.append(f"VoiceSendPolicy grants on {granted}: a `*` resource")
        if granted != VOICE_RESOURCES:
            problems.append(f"VoiceSendPolicy grants on {granted}, not {VOICE_RESOURCES}")
    webhook = {function["Properties"]["Role"]["Fn::GetAtt"][0]
               for function in functions_of(template).values()
               if binary_of(function) == "mfa-sms-webhook"}
    texting = {r["Ref"] for r in resources["SmsSendPolicy"]["Properties"]["Roles"]} - webhook
    calling = {r["Ref"] for r in as_list(policy["Properties"].get("Roles", []))}
    if calling != texting:
        problems.append(f"VoiceSendPolicy is attached to {sorted(calling)}, not to the roles that "
                        f"text codes, {sorted(texting)}")
    for name, function in functions_of(template).items():
        if environment_of(template, function).get("MFA_VOICE_PROTECT_CONFIGURATION_ID") != {
                "Fn::If": ["VoiceEnabled", {"Ref": "ProtectConfiguration"}, ""]}:
            problems.append(f"{name}: MFA_VOICE_PROTECT_CONFIGURATION_ID is not the stack's "
                            "protect configuration (when VoiceEnabled)")

    # Line type lookups: exactly CarrierLookup, when VoIP numbers are refused, for the functions
    # that take a new number.
    lookup = resources.get("NumberLookupPolicy", {})
    statements = lookup.get("Properties", {}).get("PolicyDocument", {}).get("Statement", [])
    if lookup.get("Condition") != "RefusesVoipNumbers" or [
            (s.get("Effect"), s.get("Action"), s.get("Resource")) for s in statements] != [
            ("Allow", LOOKUP_ACTION, "*")]:
        problems.append(f"NumberLookupPolicy must allow exactly {LOOKUP_ACTION} (which has no "
                        "resource type) when RefusesVoipNumbers")
    screening = {path.name for path in (SERVICE_SRC / "domain").glob("*.rs")
                 if re.search(r"\.check_line\(", without_tests(path.read_text(encoding="utf-8")))}
    if not screening <= set(LOOKUP_ROLES):
        problems.append(f"check_line is called in {sorted(screening - set(LOOKUP_ROLES))}: add "
                        "the role of its function to LOOKUP_ROLES and NumberLookupPolicy")
    looking = {r["Ref"] for r in as_list(lookup.get("Properties", {}).get("Roles", []))}
    if looking != {LOOKUP_ROLES[f] for f in screening}:
        problems.append(f"NumberLookupPolicy is attached to {sorted(looking)}, not to the roles "
                        f"of the functions that look numbers up ({sorted(screening)})")

    # The protect configuration: a rule for every country of the Rules' list, the same for SMS
    # and VOICE, that evaluates to ALLOW exactly for the countries listed.
    protect = resources.get("ProtectConfiguration", {})
    if protect.get("Type") != "AWS::SMSVOICE::ProtectConfiguration":
        checks.check("voice", problems + ["no ProtectConfiguration in the template"])
        return
    if protect.get("Condition") != "VoiceEnabled":
        problems.append("ProtectConfiguration is not created only when VoiceEnabled")
    rule_sets = protect["Properties"]["CountryRuleSet"]
    if rule_sets.get("SMS") != rule_sets.get("VOICE"):
        problems.append("the SMS and VOICE country rules differ")
    codes = [rule["CountryCode"] for rule in rule_sets.get("VOICE", [])]
    if len(set(codes)) != len(codes) or not all(re.fullmatch(r"[A-Z]{2}", str(c)) for c in codes):
        problems.append("the country rules name a country twice, or a code that is not two "
                        "upper-case letters (a bare NO is read as false: quote it)")
    known = template["Rules"]["ProtectAllowedCountriesAreKnown"]["Assertions"][0]["Assert"][
        "Fn::EachMemberIn"]
    if known[0] != {"Ref": "ProtectAllowedCountries"} or sorted(map(str, known[1])) != sorted(
            map(str, codes)):
        problems.append("the rule ProtectAllowedCountriesAreKnown does not list exactly the "
                        "countries that have a rule")
    samples = [None, "GB,FR", "NO", "US,CA,PR,VI,GU,AS,MP", "ZW,AD"]
    for sample in samples:
        parameters = parameter_values(
            template, sample and {"ProtectAllowedCountries": sample, "VoiceOriginationIdentity":
                                  "arn:aws:sms-voice:us-east-1:123456789012:phone-number/x"})
        listed = set(parameters["ProtectAllowedCountries"])
        allowed = {rule["CountryCode"] for rule in rule_sets.get("VOICE", [])
                   if evaluate(template, rule["ProtectStatus"], parameters) == "ALLOW"}
        blocked = {rule["CountryCode"] for rule in rule_sets.get("VOICE", [])
                   if evaluate(template, rule["ProtectStatus"], parameters) == "BLOCK"}
        if allowed != listed or len(allowed) + len(blocked) != len(codes):
            problems.append(f"with ProtectAllowedCountries={','.join(sorted(listed))} the rules "
                            f"allow {sorted(allowed)} and block {len(blocked)} of {len(codes)}")
    checks.check(f"voice: {VOICE_ACTION} only, on the origination identity, for "
                 f"{', '.join(sorted(calling))}; {LOOKUP_ACTION} for {', '.join(sorted(looking))}; "
                 f"the protect configuration rules {len(codes)} countries, ALLOW exactly for "
                 "ProtectAllowedCountries", problems)


def check_routes(checks, template, document):
    router = router_routes()
    documented = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                documented[(method.upper(), path)] = (operation.get("tags") or ["?"])[0]
    # The document says which routes exist; the router which function group serves each (the
    # document's tags group routes for readers, e.g. `webhooks`, and need not name a function).
    problems = [f"{m} {p} is in the OpenAPI document but not in the router"
                for (m, p) in sorted(documented) if (m, p) not in router]
    expected = {route: f"mfa-{group}" for route, group in router.items()}
    in_template = {}
    for name, function in functions_of(template).items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            props = event["Properties"]
            route = (props["Method"].upper(), props["Path"])
            if route in in_template:
                problems.append(f"{route[0]} {route[1]} is routed twice")
            in_template[route] = binary_of(function)
            if props.get("ApiId") != {"Ref": "HttpApi"}:
                problems.append(f"{route[0]} {route[1]} is not on the template's HttpApi")
    for route in sorted(set(expected) | set(in_template)):
        want, got = expected.get(route), in_template.get(route)
        if want != got:
            problems.append(f"{route[0]} {route[1]}: the code serves it from {want}, "
                            f"the template from {got}")
    undocumented = sorted(f"{m} {p}" for (m, p) in set(router) - set(documented))
    checks.check(f"routes: {len(in_template)} in the template, {len(router)} in the router, "
                 f"{len(documented)} in the OpenAPI document (not: {', '.join(undocumented)})",
                 problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mfa-local", required=True, help="the built mfa-local binary")
    parser.add_argument("--mfa-cli", required=True, help="the built mfa binary (functions/cli)")
    opts = parser.parse_args()

    checks = Checks()
    template = load_template()
    check_functions(checks, template, workspace_binaries())
    check_table(checks, template)
    check_observability(checks, template)
    check_permissions(checks, template)
    check_voice(checks, template)

    generated = json.loads(subprocess.run(
        [opts.mfa_cli, "secret", "generate"],
        check=True, capture_output=True, text=True).stdout)
    secret_keys = list(generated["secret"])
    check_environment(checks, template, secret_keys)

    # The template's environment (parameter defaults) and freshly generated secret values, as
    # the Lambda functions get them: mfa-local must start on them and accept the API keys.
    env = {k: resolve(template, v)
           for k, v in template["Globals"]["Function"]["Environment"]["Variables"].items()
           if k != "MFA_SECRET_ARN"}
    env.update(generated["secret"])
    try:
        local = MfaLocal(opts.mfa_local, env)
    except RuntimeError as error:
        checks.check("mfa-local starts on the template's environment and a generated secret",
                     [str(error)])
        print(f"{checks.passed} passed, {checks.failed} failed")
        return 1
    try:
        keys = generated["api_keys"]
        answers = {
            "service key, GET /v1/users/{user}/factors": local.get("/v1/users/infra-check/factors", keys["service"])[0],
            "admin key, GET /v1/admin/orgs/{org}/policy": local.get("/v1/admin/orgs/infra-check/policy", keys["admin"])[0],
            "service key, GET /v1/admin/orgs/{org}/policy (403)": local.get("/v1/admin/orgs/infra-check/policy", keys["service"])[0],
        }
        expected = {k: 403 if "(403)" in k else 200 for k in answers}
        checks.check(
            "mfa-local starts on the template's environment and a generated secret; the keys work",
            [f"{k}: {answers[k]}, not {expected[k]}" for k in answers if answers[k] != expected[k]])
        status, body = local.get("/v1/openapi.json", keys["service"])
        if status != 200:
            checks.check("routes", [f"GET /v1/openapi.json answered {status}"])
        else:
            check_routes(checks, template, json.loads(body))
    finally:
        local.close()

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
