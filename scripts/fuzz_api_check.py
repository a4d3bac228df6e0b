#!/usr/bin/env python3
"""Helpers of scripts/fuzz-api.sh: store snapshots and the verdict on a schemathesis run.

snapshot DATA_DIR OUT.json
    Every row of every table except what grows on any request (audit log, issued owner
    nonces, webhook delivery logs, the notification cursor), plus every key file's bytes:
    the same rule as `store_snapshot` in tests/src/lib.rs.

replay OUT_DIR RESULT.json
    Sends again, in order, every request schemathesis saw rejected (4xx) in any run; the
    script snapshots the store before and after: rejected requests must change nothing.

analyze --out DIR ...
    Reads the HAR and JUnit files schemathesis wrote, counts requests and statuses, and fails
    on: a 5xx that is not a chain being unreachable; a 4xx whose body is not the upstream error
    shape; a schemathesis conformance failure (response schema, status code, content type,
    headers, methods, auth; not the data-acceptance ones); a store changed by replaying the
    rejected requests; a dead or unhealthy daemon; a panic in the daemon's log. Writes
    summary.json.
"""

import argparse
import collections
import glob
import hashlib
import json
import os
import sqlite3
import sys

# 5xx that mean "the chain (RPC) is not reachable", not a daemon bug: every network but the
# local anvil points at a closed port in the fuzz setup.
CHAIN_UNAVAILABLE = {"CHAIN_ERROR", "ADAPTER_NOT_AVAILABLE", "SIMULATION_TIMEOUT", "TRANSACTION_TIMEOUT"}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
RUNS = ("negative", "positive", "last")
# Failure codes of schemathesis that do not fail the verdict (see fuzz-api.sh): data
# acceptance, and server errors (judged above with the unreachable-chain exception).
REPORT_ONLY = {"ST201", "ST202", "ST203", "ST101", "ST102"}


def junit_failures(path):
    import re
    import xml.etree.ElementTree as ET
    out = []
    for f in glob.glob(os.path.join(path, "junit-*.xml")):
        for case in ET.parse(f).getroot().iter("testcase"):
            for fail in list(case.findall("failure")) + list(case.findall("error")):
                text = (fail.text or "") + (fail.get("message") or "")
                codes = sorted(set(re.findall(r"- (ST\d{3}) ", text))) or [fail.get("message") or "error"]
                for c in codes:
                    out.append((case.get("name"), c, text))
    return out


def snapshot(data_dir, out):
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'data/waiaas.db')}?mode=ro", uri=True)
    rows = []
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT IN "
        "('audit_log','sqlite_sequence','owner_nonces','webhook_logs') ORDER BY name")]
    for t in tables:
        for r in db.execute(f'SELECT * FROM "{t}"'):
            line = f"{t}:" + "|".join(repr(v) for v in r)
            if line.startswith("key_value_store:'notify_cursor'"):
                continue
            rows.append(line)
    ks = os.path.join(data_dir, "keystore")
    for f in sorted(os.listdir(ks)):
        with open(os.path.join(ks, f), "rb") as fh:
            rows.append(f"key:{f}:{hashlib.sha256(fh.read()).hexdigest()}")
    rows.sort()
    with open(out, "w") as fh:
        json.dump(rows, fh)


def replay(out_dir, result_path):
    """Send again every request that was rejected (4xx) in any run, in order."""
    import urllib.request
    import urllib.error
    skip = {"content-length", "connection", "accept-encoding", "host"}
    results = []
    for run in RUNS:
        for e in har_entries(os.path.join(out_dir, run)):
            if not 400 <= e["response"]["status"] < 500:
                continue
            r = e["request"]
            body = r.get("postData", {}).get("text")
            req = urllib.request.Request(r["url"], method=r["method"], data=body.encode() if body is not None else None)
            for h in r["headers"]:
                if h["name"].lower() not in skip:
                    req.add_header(h["name"], h["value"])
            try:
                with urllib.request.urlopen(req, timeout=30) as res:
                    status = res.status
            except urllib.error.HTTPError as err:
                status = err.code
            except Exception as err:  # noqa: BLE001 - a dead daemon is judged later
                status = f"error: {err}"
            results.append({"run": run, "method": r["method"], "url": r["url"], "first": e["response"]["status"], "replayed": status})
    with open(result_path, "w") as fh:
        json.dump(results, fh)


def har_entries(path):
    out = []
    for f in glob.glob(os.path.join(path, "har-*.json")) + glob.glob(os.path.join(path, "*.har")):
        with open(f) as fh:
            out.extend(json.load(fh)["log"]["entries"])
    return out


def body_json(entry):
    text = entry["response"].get("content", {}).get("text") or ""
    if entry["response"].get("content", {}).get("encoding") == "base64":
        import base64
        text = base64.b64decode(text).decode("utf-8", "replace")
    try:
        return json.loads(text), text
    except ValueError:
        return None, text


def analyze(a):
    failures = []
    summary = {"runs": {}}
    for run in RUNS:
        entries = har_entries(os.path.join(a.out, run))
        statuses = collections.Counter()
        by_op = collections.Counter()
        server_errors = collections.Counter()
        bad_4xx = []
        accepted_mutations = []
        for e in entries:
            st = e["response"]["status"]
            method = e["request"]["method"]
            url = e["request"]["url"]
            path = "/" + url.split("/", 3)[3].split("?")[0] if url.count("/") >= 3 else url
            statuses[st] += 1
            body, text = body_json(e)
            if st >= 500:
                code = body.get("code") if isinstance(body, dict) else None
                server_errors[(st, code)] += 1
                if code not in CHAIN_UNAVAILABLE:
                    failures.append(f"{run}: {method} {url} -> {st} {text[:300]}")
            elif 400 <= st < 500:
                ok = isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("message"), str) \
                    and isinstance(body.get("retryable"), bool)
                # 405 for a method a path does not route carries no body (axum's answer).
                if not ok and st != 405:
                    bad_4xx.append(f"{method} {url} -> {st} {text[:200]}")
            elif 200 <= st < 300 and method in MUTATING:
                accepted_mutations.append(f"{method} {path} -> {st}")
            by_op[f"{method} {path.split('/')[1] if path.count('/') > 1 else path}"] += 1
        if bad_4xx:
            failures.append(f"{run}: {len(bad_4xx)} 4xx answers without the error shape, e.g. " + "; ".join(bad_4xx[:5]))
        st_fail = junit_failures(os.path.join(a.out, run))
        by_code = collections.Counter(c for _, c, _ in st_fail)
        for name, code, text in st_fail:
            if code not in REPORT_ONLY:
                failures.append(f"{run}: schemathesis {code} on {name}: " + " ".join(text.split())[:600])
        summary["runs"][run] = {
            "schemathesis_findings": dict(sorted(by_code.items())),
            "schemathesis_findings_by_operation": sorted({f"{c} {n}" for n, c, _ in st_fail}),
            "requests": len(entries),
            "statuses": dict(sorted((str(k), v) for k, v in statuses.items())),
            "server_errors": {f"{k[0]} {k[1]}": v for k, v in server_errors.items()},
            "accepted_mutations": len(accepted_mutations),
            "accepted_mutation_examples": sorted(set(accepted_mutations))[:20],
        }
    with open(a.before) as fh:
        before = json.load(fh)
    with open(a.after_negative) as fh:
        after = json.load(fh)
    changed = sorted(set(before) ^ set(after))
    neg = summary["runs"]["negative"]
    summary["store_changed_by_negative_run"] = len(changed)
    if changed and neg["accepted_mutations"] == 0:
        failures.append("the negative run changed the store although every mutating request was rejected: " + "; ".join(changed[:5]))
    elif changed:
        summary["store_changes_explained_by"] = neg["accepted_mutation_examples"]
    with open(a.before_replay) as fh:
        before_replay = json.load(fh)
    with open(a.after_replay) as fh:
        after_replay = json.load(fh)
    with open(a.replay) as fh:
        replayed = json.load(fh)
    accepted_now = [r for r in replayed if not (isinstance(r["replayed"], int) and 400 <= r["replayed"] < 500)]
    changed = sorted(set(before_replay) ^ set(after_replay))
    summary["replay_of_rejected_requests"] = {
        "requests": len(replayed),
        "not_rejected_again": len(accepted_now),
        "not_rejected_examples": [f"{r['method']} {r['url']} {r['first']} -> {r['replayed']}" for r in accepted_now[:10]],
        "store_rows_changed": len(changed),
    }
    if changed and not accepted_now:
        failures.append(f"replaying {len(replayed)} rejected requests changed the store: " + "; ".join(changed[:5]))
    elif changed:
        failures.append(f"replay: {len(accepted_now)} once-rejected requests were accepted and the store changed (check by hand): "
                        + "; ".join(summary["replay_of_rejected_requests"]["not_rejected_examples"][:3]))
    if a.alive != "1":
        failures.append("the daemon died during the run")
    if a.health != "200":
        failures.append(f"GET /health after the run answered {a.health}")
    with open(os.path.join(a.out, "daemon.log"), errors="replace") as fh:
        log = fh.read()
    if "panicked" in log:
        failures.append("the daemon log has a panic")
    summary["schemathesis_exit_codes"] = dict(kv.split("=") for kv in a.st_rc.split(","))
    summary["total_requests"] = sum(r["requests"] for r in summary["runs"].values())
    summary["failures"] = failures
    with open(os.path.join(a.out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    print(json.dumps(summary, indent=2))
    if failures:
        print(f"FAIL: {len(failures)} problem(s)", file=sys.stderr)
        return 1
    chain = sum(v for r in summary["runs"].values() for v in r["server_errors"].values())
    print(f"OK: {summary['total_requests']} requests, no 5xx ({chain} for unreachable chains), every 4xx in the error shape, "
          f"{summary['replay_of_rejected_requests']['requests']} rejected requests replayed without changing the store, daemon healthy")
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "snapshot":
        snapshot(sys.argv[2], sys.argv[3])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "replay":
        replay(sys.argv[2], sys.argv[3])
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("--out", required=True)
    p.add_argument("--before", required=True)
    p.add_argument("--after-negative", required=True)
    p.add_argument("--alive", required=True)
    p.add_argument("--health", required=True)
    p.add_argument("--st-rc", required=True)
    p.add_argument("--before-replay", required=True)
    p.add_argument("--after-replay", required=True)
    p.add_argument("--replay", required=True)
    return analyze(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
