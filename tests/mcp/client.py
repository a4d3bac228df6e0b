"""A real MCP client (the official Python SDK, package `mcp`) driving `waiaas mcp serve`
over stdio, for the end-to-end tests in tests/tests/e2e/mcp.rs.

usage: client.py SCENARIO_JSON
  SCENARIO_JSON = {"command": "/path/waiaas", "args": ["mcp", "serve"], "env": {...},
                   "elicit": null | "cancel" | "keep" | "decline",
                   "steps": [{"op": "list_tools"} | {"op": "call", "name": ..., "args": {...}}
                             | {"op": "read", "uri": ...} | {"op": "templates"} | {"op": "resources"}
                             | {"op": "repeat", "name": ..., "args": {...}, "n": 50}
                             | {"op": "sleep", "seconds": 1.5}]}
Prints one JSON object: {"protocolVersion", "initMs", "capabilities", "elicitations", "steps": [...]}.
"""

import json
import statistics
import sys
import time

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


def tool_result(res):
    texts = [c.text for c in res.content if getattr(c, "type", None) == "text"]
    text = "\n".join(texts)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return {"isError": bool(res.is_error), "text": text, "json": parsed}


async def run(scenario):
    elicitations = []
    answer = scenario.get("elicit")

    async def on_elicit(ctx, params):
        elicitations.append({"message": params.message, "schema": params.requested_schema})
        if answer in ("cancel", "keep"):
            return types.ElicitResult(action="accept", content={"decision": answer})
        if answer == "decline":
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="cancel")

    params = StdioServerParameters(command=scenario["command"], args=scenario.get("args", ["mcp", "serve"]), env=scenario.get("env") or {})
    out = {"steps": [], "elicitations": elicitations}
    async with stdio_client(params) as (read, write):
        kwargs = {"elicitation_callback": on_elicit} if answer is not None else {}
        async with ClientSession(read, write, **kwargs) as session:
            t0 = time.perf_counter()
            init = await session.initialize()
            out["initMs"] = (time.perf_counter() - t0) * 1000
            out["protocolVersion"] = init.protocol_version
            out["serverName"] = init.server_info.name
            out["capabilities"] = init.capabilities.model_dump(mode="json", by_alias=True, exclude_none=True)
            for step in scenario.get("steps", []):
                op = step["op"]
                t = time.perf_counter()
                if op == "list_tools":
                    r = await session.list_tools()
                    res = {"tools": [{"name": x.name, "description": x.description, "inputSchema": x.input_schema} for x in r.tools]}
                elif op == "call":
                    res = tool_result(await session.call_tool(step["name"], step.get("args") or {}, read_timeout_seconds=step.get("timeout", 120)))
                elif op == "read":
                    try:
                        r = await session.read_resource(step["uri"])
                        res = {"contents": [getattr(c, "text", None) for c in r.contents]}
                    except Exception as e:  # a resource error is an answer too
                        res = {"error": str(e)}
                elif op == "resources":
                    r = await session.list_resources()
                    res = {"uris": [str(x.uri) for x in r.resources]}
                elif op == "templates":
                    r = await session.list_resource_templates()
                    res = {"templates": [x.uri_template for x in r.resource_templates]}
                elif op == "repeat":
                    times = []
                    errors = 0
                    for _ in range(step.get("n", 20)):
                        s = time.perf_counter()
                        rr = await session.call_tool(step["name"], step.get("args") or {})
                        times.append((time.perf_counter() - s) * 1000)
                        errors += 1 if rr.is_error else 0
                    res = {"n": len(times), "errors": errors, "medianMs": statistics.median(times), "minMs": min(times), "maxMs": max(times)}
                elif op == "sleep":
                    await anyio.sleep(step["seconds"])
                    res = {}
                else:
                    raise ValueError(f"unknown op {op}")
                res["op"] = op
                res["ms"] = (time.perf_counter() - t) * 1000
                out["steps"].append(res)
    return out


def main():
    scenario = json.loads(sys.argv[1])
    out = anyio.run(run, scenario)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
