"""``geosleuth tools list``: every tool a run can use, where it comes from, whether it
can reach the network."""

from __future__ import annotations

import argparse
import json

from tools.registry import default_registry


def register(commands: argparse._SubParsersAction) -> None:
    tools = commands.add_parser("tools", help="the registered tools", description="Inspect the tool registry.")
    verbs = tools.add_subparsers(dest="tools_command", metavar="VERB")
    verbs.required = True
    listing = verbs.add_parser("list", help="list every registered tool (built-in and plug-ins)")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    specs = [spec.summary() for spec in default_registry().specs.values()]
    if args.json:
        print(json.dumps(specs, indent=2, ensure_ascii=False))
        return 0
    width = max((len(s["name"]) for s in specs), default=4)
    for spec in specs:
        network = "online " if spec["online"] else "offline"
        origin = "" if spec["origin"] == "builtin" else f"  [{spec['origin']}]"
        print(f"{spec['name']:<{width}}  {spec['kind']:<9} {network}  {spec['description']}{origin}")
    return 0
