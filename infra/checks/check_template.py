#!/usr/bin/env python3
"""Checks that infra/template.yaml and the code agree.

    check_template.py --mfa-local PATH_TO_BUILT_MFA_LOCAL

- functions: every Lambda crate under functions/ has a function in the template and every
  function's Binary is a binary the workspace builds; runtime, architecture, build method;
  each function has its own log group (with the retention parameter) and Errors and Throttles
  alarms;
- the table: key names and types and the TTL attribute are the ones store/dynamo.rs uses;
- environment: every MFA_ variable the Lambda code reads is set for every function, either in
  its environment or in the secret (infra/secret.py), but for the optional ones listed in
  NOT_IN_TEMPLATE with their reason; the template sets none that the code doesn't read; a
  parameter that may be empty feeds a variable read as optional; no secret value is an
  environment variable or a parameter;
- permissions: each role's DynamoDB actions are data-plane requests store/dynamo.rs makes, on the
  table only; SMS only to phone numbers, never to a topic; email only as the SES identity; only
  the stack's secret and key;
- the secret's generated values and the template's default environment start the real service:
  mfa-local is started with exactly them, and the generated API keys are accepted;
- routes: the template's HTTP API routes are the ones the OpenAPI document served by mfa-local
  and the router (http/mod.rs) declare, each on the function of its router group.

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
NOT_LAMBDA_CRATES = {"service", "local"}
# Variables the functions read but the template leaves unset on purpose; each must be optional
# in config.rs (read with `optional`, so unset is a valid configuration).
NOT_IN_TEMPLATE = {
    "MFA_SNS_TRUST_ANCHOR_PEM": "a pin for the SNS signing certificate, made for tests; in AWS the "
    "certificate is trusted for coming over TLS from the SNS host (functions/service/src/sns.rs)",
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


def resolve(template, value):
    """A template value as the functions would see it with the parameters' defaults; resources
    become made-up names and ARNs of their kind."""
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        parameter = template.get("Parameters", {}).get(name)
        if parameter is not None:
            return str(parameter.get("Default", ""))
        kind = template["Resources"][name]["Type"]
        return {
            "AWS::SNS::Topic": f"arn:aws:sns:us-east-1:123456789012:{name}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}",
        }.get(kind, f"check-{name}")
    raise ValueError(f"no check-time value for {value!r}")


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


def router_routes():
    """(method, path) -> group, from `fn routes` in http/mod.rs."""
    text = (SERVICE_SRC / "http" / "mod.rs").read_text(encoding="utf-8")
    body = text[text.index("fn routes("):]
    body = body[: body.index("\n}\n")]
    routes = {}
    arms = re.split(r"Group::(\w+)\s*=>", body)[1:]
    for group, arm in zip(arms[0::2], arms[1::2]):
        for start in (m.end() for m in re.finditer(r"\.route\(", arm)):
            depth, end = 1, start
            while depth:
                depth += {"(": 1, ")": -1}.get(arm[end], 0)
                end += 1
            call = arm[start:end - 1]
            path = re.match(r'\s*"([^"]+)"', call).group(1)
            for method in re.findall(r"\b(get|post|put|delete|patch)\(", call):
                routes[(method.upper(), path)] = kebab(group)
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
            and {"Name": "FunctionName", "Value": {"Ref": name}} in r["Properties"]["Dimensions"]
        }
        problems += [f"{name} has no {m} alarm" for m in ("Errors", "Throttles") if m not in metrics]
    checks.check("every function has its log group and Errors and Throttles alarms", problems)


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
    secret_resources = [r for r in template["Resources"].values()
                        if r["Type"] == "AWS::SecretsManager::Secret"]
    for secret in secret_resources:
        props = secret["Properties"]
        if "SecretString" in props or "GenerateSecretString" in props:
            problems.append("the secret must be created empty (infra/secret.py fills it), not "
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
    table only; sns:Publish only to phone numbers; ses:SendEmail only as the identity; the secret only."""
    dynamo = without_tests((SERVICE_SRC / "store" / "dynamo.rs").read_text(encoding="utf-8"))
    # Data-plane requests only: the table's creation is the template's job, not the functions'.
    called = {"dynamodb:" + "".join(w.capitalize() for w in m.split("_"))
              for m in re.findall(r"\.(get_item|put_item|update_item|delete_item|query|scan|"
                                  r"transact_write_items|transact_get_items|batch_get_item|"
                                  r"batch_write_item)\(\)", dynamo)}
    allowed_resource = {
        "dynamodb:": [{"Fn::GetAtt": ["Table", "Arn"]}],
        "secretsmanager:GetSecretValue": [{"Ref": "Secret"}],
        "ses:SendEmail": [{"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
                                      ":identity/${SesIdentity}"}],
        "kms:": [{"Fn::GetAtt": ["Key", "Arn"]}],
    }
    problems = []
    for name, function in functions_of(template).items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        for statement in statements_of(template, role):
            for action in as_list(statement["Action"]):
                if action.startswith("dynamodb:") and action not in called:
                    problems.append(f"{role} may {action}, which dynamo.rs never requests")
                if action == "sns:Publish" and statement.get("NotResource") != {
                        "Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}:
                    problems.append(f"{role} may publish to SNS topics, not only to phone numbers")
                for prefix, resources in allowed_resource.items():
                    if action.startswith(prefix) and as_list(statement.get("Resource")) != resources:
                        problems.append(f"{role}: {action} on {statement.get('Resource')}")
    checks.check(f"permissions: DynamoDB actions within {sorted(called)}, on the table; "
                 "SMS to numbers only; SES as the identity; the secret and key only", problems)


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
    opts = parser.parse_args()

    checks = Checks()
    template = load_template()
    check_functions(checks, template, workspace_binaries())
    check_table(checks, template)
    check_permissions(checks, template)

    generated = json.loads(subprocess.run(
        [sys.executable, str(ROOT / "infra" / "secret.py"), "generate"],
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
