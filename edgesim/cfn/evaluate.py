"""Evaluate a CloudFormation template: parameters, pseudo parameters, conditions, mappings and
every intrinsic function, with the checks CloudFormation makes before it creates a stack.

Resources have no physical identity here, so ``Ref`` and ``Fn::GetAtt`` of a resource give a
**deterministic stand-in string** of the right shape (a CloudFront domain
``d1a2b3c4d5e6f7.cloudfront.net``, a Lambda ARN, an S3 regional domain name …). Every such
string is remembered with the resource it stands for, so the converter can find the resource
behind a value even after ``Fn::Sub`` or ``Fn::Join`` built a longer string around it
(:meth:`Template.owner`). An attribute the evaluator does not know becomes the placeholder
``<LogicalId.Attribute>``, owned by its resource in the same way.

Problems name the logical ID and the path inside the template
(``Resources.WebDist.Properties.DistributionConfig.Origins[0].DomainName``) with its line.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from edgesim.errors import InputError, Problem
from edgesim.yamlio import LineIndex, format_loc

Loc = tuple[str | int, ...]


class _NoValue:
    """``AWS::NoValue``: the property (or list item) is removed."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "AWS::NoValue"


NO_VALUE = _NoValue()

PSEUDO = (
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
)
FUNCTIONS = (
    "Fn::Base64",
    "Fn::Cidr",
    "Fn::Equals",
    "Fn::FindInMap",
    "Fn::GetAZs",
    "Fn::GetAtt",
    "Fn::If",
    "Fn::ImportValue",
    "Fn::Join",
    "Fn::Length",
    "Fn::Not",
    "Fn::And",
    "Fn::Or",
    "Fn::Select",
    "Fn::Split",
    "Fn::Sub",
    "Fn::ToJsonString",
)
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_REGION_IN_HOST = re.compile(r"(?:^|[.-])((?:[a-z]{2}-gov|[a-z]{2})-[a-z]+-\d)(?:[.]|$)")


def region_in(text: str) -> str | None:
    """The AWS Region named inside a host name or ARN (``…elb.eu-west-1.amazonaws.com``)."""
    m = _REGION_IN_HOST.search(text)
    if m is not None:
        return m.group(1)
    parts = text.split(":")
    if (
        len(parts) > 4
        and parts[0] == "arn"
        and re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", parts[3])
    ):
        return parts[3]
    return None


@dataclass
class Resource:
    logical_id: str
    type: str
    raw: dict[str, Any]
    condition: str | None
    enabled: bool = True
    properties: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    region: str = ""

    @property
    def loc(self) -> Loc:
        return ("Resources", self.logical_id)


class Template:
    """An evaluated template. Construction runs every check; problems raise
    :class:`InputError` (all problems of the static checks at once)."""

    def __init__(
        self,
        data: dict[str, Any],
        index: LineIndex | None = None,
        file: str | None = None,
        *,
        region: str = "us-east-1",
        parameters: dict[str, str] | None = None,
        stack_name: str = "stack",
        account_id: str = "123456789012",
    ) -> None:
        self.data = data
        self.index = index or LineIndex()
        self.file = file
        self.region = region
        self.stack_name = stack_name
        self.account_id = account_id
        self.given = dict(parameters or {})
        self.params: dict[str, Any] = {}
        self.mappings: dict[str, Any] = self._section("Mappings")
        self.conditions_raw: dict[str, Any] = self._section("Conditions")
        self._conditions: dict[str, bool] = {}
        self._cond_stack: list[str] = []
        self.symbols: dict[str, tuple[str, str | None]] = {}
        self.imports: list[tuple[str, str]] = []
        """(import name, template path) of every Fn::ImportValue met."""
        self.resources: dict[str, Resource] = {}
        problems: list[Problem] = []
        self._check_parameters(problems)
        self._read_resources(problems)
        if not problems:
            self._check_references(problems)
        if problems:
            raise InputError(problems, file=file)
        for res in self.resources.values():
            cond = res.condition
            res.enabled = cond is None or self.condition(cond, (*res.loc, "Condition"))
        for res in self.resources.values():
            if not res.enabled:
                continue
            meta = self.resolve(res.raw.get("Metadata", {}), (*res.loc, "Metadata"))
            res.metadata = meta if isinstance(meta, dict) else {}
            hint = res.metadata.get("edgesim", {})
            res.region = str(hint.get("region", "")) if isinstance(hint, dict) else ""
            res.region = res.region or self.region
        for res in self.resources.values():
            if res.enabled:
                props = self.resolve(res.raw.get("Properties", {}), (*res.loc, "Properties"))
                res.properties = props if isinstance(props, dict) else {}

    # ---- errors ---------------------------------------------------------------------------
    def problem(self, message: str, loc: Loc, expected: str | None = None) -> Problem:
        line, col = self.index.find(loc)
        return Problem(message, path=format_loc(loc), line=line, column=col, expected=expected)

    def error(self, message: str, loc: Loc, expected: str | None = None) -> InputError:
        return InputError([self.problem(message, loc, expected)], file=self.file)

    def _section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(f"{name} must be a mapping", (name,))
        return value

    # ---- static checks --------------------------------------------------------------------
    def _check_parameters(self, problems: list[Problem]) -> None:
        declared = self._section("Parameters")
        for name in sorted(set(self.given) - set(declared)):
            problems.append(
                Problem(
                    f"--parameter {name}: the template has no parameter named '{name}'",
                    expected="one of: " + (", ".join(sorted(declared)) or "(none declared)"),
                )
            )
        for name, spec in declared.items():
            loc: Loc = ("Parameters", name)
            if not isinstance(spec, dict):
                problems.append(self.problem(f"parameter '{name}' must be a mapping", loc))
                continue
            ptype = str(spec.get("Type", "String"))
            if name in self.given:
                value: Any = self.given[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                problems.append(
                    self.problem(
                        f"parameter '{name}' has no value: it has no Default and none was given",
                        loc,
                        expected=f"--parameter {name}=VALUE, or a Default in the template",
                    )
                )
                continue
            if isinstance(value, dict):
                problems.append(
                    self.problem(f"parameter '{name}': a Default cannot use functions", loc)
                )
                continue
            allowed = spec.get("AllowedValues")
            if isinstance(allowed, list) and str(value) not in [str(a) for a in allowed]:
                problems.append(
                    self.problem(
                        f"parameter '{name}': '{value}' is not an allowed value",
                        loc,
                        expected="one of: " + ", ".join(str(a) for a in allowed),
                    )
                )
                continue
            if ptype == "CommaDelimitedList" or ptype.startswith("List<"):
                if isinstance(value, list):
                    self.params[name] = [str(v) for v in value]
                else:
                    self.params[name] = [v.strip() for v in str(value).split(",")]
            elif ptype == "Number":
                try:
                    num = float(str(value))
                except ValueError:
                    problems.append(
                        self.problem(f"parameter '{name}': '{value}' is not a number", loc)
                    )
                    continue
                self.params[name] = int(num) if num.is_integer() else num
            else:
                self.params[name] = str(value)

    def _read_resources(self, problems: list[Problem]) -> None:
        for lid, raw in self._section("Resources").items():
            loc: Loc = ("Resources", lid)
            if not isinstance(raw, dict) or not isinstance(raw.get("Type"), str):
                problems.append(self.problem(f"resource '{lid}' needs a Type", loc))
                continue
            cond = raw.get("Condition")
            if cond is not None and not isinstance(cond, str):
                problems.append(
                    self.problem("Condition must be a condition's name", (*loc, "Condition"))
                )
                continue
            if cond is not None and cond not in self.conditions_raw:
                problems.append(
                    self.problem(
                        f"resource '{lid}' names condition '{cond}', which is not defined",
                        (*loc, "Condition"),
                        expected=_one_of(self.conditions_raw),
                    )
                )
            self.resources[lid] = Resource(lid, raw["Type"], raw, cond)

    def _check_references(self, problems: list[Problem]) -> None:
        """Missing references and unknown functions everywhere; cycles between resources."""
        edges: dict[str, dict[str, Loc]] = {lid: {} for lid in self.resources}
        for lid, res in self.resources.items():
            deps = res.raw.get("DependsOn")
            dlist = deps if isinstance(deps, list) else ([deps] if deps is not None else [])
            for i, dep in enumerate(dlist):
                dloc: Loc = (*res.loc, "DependsOn") + ((i,) if isinstance(deps, list) else ())
                if dep not in self.resources:
                    problems.append(
                        self.problem(
                            f"{lid} depends on '{dep}', which is not a resource of this template",
                            dloc,
                            expected=_one_of(self.resources),
                        )
                    )
                else:
                    edges[lid].setdefault(str(dep), dloc)
            for key in ("Properties", "Metadata"):
                if key in res.raw:
                    self._walk(res.raw[key], (*res.loc, key), lid, edges, problems)
        for name, body in self.conditions_raw.items():
            self._walk(body, ("Conditions", name), None, edges, problems)
        outputs = self.data.get("Outputs")
        if isinstance(outputs, dict):
            for name, body in outputs.items():
                self._walk(body, ("Outputs", name), None, edges, problems)
        if not problems:
            problems.extend(self._cycles(edges))

    def _walk(
        self,
        node: Any,
        loc: Loc,
        owner: str | None,
        edges: dict[str, dict[str, Loc]],
        problems: list[Problem],
    ) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                self._walk(item, (*loc, i), owner, edges, problems)
            return
        if not isinstance(node, dict):
            return
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                self._check_ref(arg, loc, owner, edges, problems)
                return
            if key == "Fn::GetAtt":
                target = _getatt_target(arg)
                if target is None:
                    problems.append(
                        self.problem(
                            "Fn::GetAtt takes a logical ID and an attribute",
                            loc,
                            expected="!GetAtt Resource.Attribute or [Resource, Attribute]",
                        )
                    )
                elif target not in self.resources:
                    problems.append(
                        self.problem(
                            f"Fn::GetAtt of '{target}', which is not a resource of this template",
                            loc,
                            expected=_one_of(self.resources),
                        )
                    )
                elif owner is not None:
                    edges[owner].setdefault(target, loc)
                if isinstance(arg, list) and len(arg) == 2:
                    self._walk(arg[1], (*loc, "Fn::GetAtt", 1), owner, edges, problems)
                return
            if key == "Fn::Sub":
                self._check_sub(arg, loc, owner, edges, problems)
                return
            if key.startswith("Fn::") and key not in FUNCTIONS:
                problems.append(
                    self.problem(
                        f"unknown intrinsic function {key}", loc, expected=", ".join(FUNCTIONS)
                    )
                )
                return
            if key == "Condition" and loc[0] == "Conditions" and isinstance(arg, str):
                if arg not in self.conditions_raw:
                    problems.append(
                        self.problem(
                            f"condition '{arg}' is not defined",
                            loc,
                            expected=_one_of(self.conditions_raw),
                        )
                    )
                return
            if (
                key == "Fn::If"
                and isinstance(arg, list)
                and arg
                and isinstance(arg[0], str)
                and arg[0] not in self.conditions_raw
            ):
                problems.append(
                    self.problem(
                        f"Fn::If names condition '{arg[0]}', which is not defined",
                        loc,
                        expected=_one_of(self.conditions_raw),
                    )
                )
        for key, value in node.items():
            self._walk(value, (*loc, key), owner, edges, problems)

    def _check_ref(
        self,
        name: Any,
        loc: Loc,
        owner: str | None,
        edges: dict[str, dict[str, Loc]],
        problems: list[Problem],
    ) -> None:
        if not isinstance(name, str):
            problems.append(self.problem("Ref takes a name", loc))
        elif name in self.resources:
            if owner is not None:
                edges[owner].setdefault(name, loc)
        elif name not in self.params and name not in PSEUDO and name not in self._declared():
            problems.append(
                self.problem(
                    f"Ref to '{name}', which is not a parameter or resource of this template",
                    loc,
                    expected=_one_of([*self._declared(), *self.resources]),
                )
            )

    def _declared(self) -> dict[str, Any]:
        params = self.data.get("Parameters")
        return params if isinstance(params, dict) else {}

    def _check_sub(
        self,
        arg: Any,
        loc: Loc,
        owner: str | None,
        edges: dict[str, dict[str, Loc]],
        problems: list[Problem],
    ) -> None:
        variables: dict[str, Any] = {}
        text = arg
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[1], dict):
                problems.append(
                    self.problem("Fn::Sub takes a string, or [string, {variables}]", loc)
                )
                return
            text, variables = arg
            self._walk(variables, (*loc, "Fn::Sub", 1), owner, edges, problems)
        if not isinstance(text, str):
            problems.append(self.problem("Fn::Sub needs a string to substitute into", loc))
            return
        for var in _SUB_VAR.findall(text):
            if var.startswith("!") or var in variables:
                continue
            if "." in var and not var.startswith("AWS::"):
                res = var.split(".", 1)[0]
                if res not in self.resources:
                    problems.append(
                        self.problem(
                            f"Fn::Sub refers to '${{{var}}}', but '{res}' is not a resource "
                            "of this template",
                            loc,
                            expected=_one_of(self.resources),
                        )
                    )
                elif owner is not None:
                    edges[owner].setdefault(res, loc)
            else:
                self._check_ref(var, loc, owner, edges, problems)

    def _cycles(self, edges: dict[str, dict[str, Loc]]) -> list[Problem]:
        """Every distinct cycle of the dependency graph, named by logical IDs."""
        out: list[Problem] = []
        seen: set[frozenset[str]] = set()
        state: dict[str, int] = {}
        for start in sorted(edges):
            if state.get(start):
                continue
            stack: list[tuple[str, list[str]]] = [(start, sorted(edges[start]))]
            path = [start]
            state[start] = 1
            while stack:
                node, todo = stack[-1]
                if not todo:
                    stack.pop()
                    path.pop()
                    state[node] = 2
                    continue
                nxt = todo.pop(0)
                if state.get(nxt) == 1:
                    cycle = path[path.index(nxt) :]
                    key = frozenset(cycle)
                    if key not in seen:
                        seen.add(key)
                        first = cycle[0]
                        second = cycle[1] if len(cycle) > 1 else cycle[0]
                        out.append(
                            self.problem(
                                "circular reference: " + " → ".join([*cycle, first]),
                                edges[first][second],
                                expected="resources that do not refer to each other in a "
                                "circle (CloudFormation refuses the template)",
                            )
                        )
                elif not state.get(nxt):
                    state[nxt] = 1
                    path.append(nxt)
                    stack.append((nxt, sorted(edges[nxt])))
        return out

    # ---- conditions -----------------------------------------------------------------------
    def condition(self, name: str, loc: Loc) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        if name not in self.conditions_raw:
            raise self.error(
                f"condition '{name}' is not defined", loc, expected=_one_of(self.conditions_raw)
            )
        if name in self._cond_stack:
            cycle = [*self._cond_stack[self._cond_stack.index(name) :], name]
            raise self.error(
                "circular reference between conditions: " + " → ".join(cycle),
                ("Conditions", name),
            )
        self._cond_stack.append(name)
        value = self._cond_value(self.conditions_raw[name], ("Conditions", name))
        self._cond_stack.pop()
        self._conditions[name] = value
        return value

    def _cond_value(self, node: Any, loc: Loc) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg, loc)
        value = self.resolve(node, loc)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.error(
            "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or a Condition",
            loc,
        )

    # ---- evaluation -----------------------------------------------------------------------
    def resolve(self, node: Any, loc: Loc) -> Any:
        """The value of ``node`` with every intrinsic applied (``AWS::NoValue`` removed)."""
        if isinstance(node, list):
            items = [self.resolve(v, (*loc, i)) for i, v in enumerate(node)]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(str(arg), loc)
            if key.startswith("Fn::"):
                return self._function(key, arg, loc)
        out: dict[str, Any] = {}
        for key, value in node.items():
            v = self.resolve(value, (*loc, key))
            if v is not NO_VALUE:
                out[key] = v
        return out

    def ref(self, name: str, loc: Loc) -> Any:
        if name in self.params:
            return self.params[name]
        pseudo: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
            "AWS::NotificationARNs": [],
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/"
            f"{self.stack_name}/{_uuid(self.stack_name)}",
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        res = self.resources.get(name)
        if res is None:
            raise self.error(
                f"Ref to '{name}', which is not a parameter or resource of this template", loc
            )
        self._created(res, loc)
        return self._symbol(res, None)

    def getatt(self, name: str, attr: str, loc: Loc) -> Any:
        res = self.resources.get(name)
        if res is None:
            raise self.error(
                f"Fn::GetAtt of '{name}', which is not a resource of this template", loc
            )
        self._created(res, loc)
        return self._symbol(res, attr)

    def _created(self, res: Resource, loc: Loc) -> None:
        if res.condition is not None and not self.condition(res.condition, loc):
            raise self.error(
                f"refers to '{res.logical_id}', which is not created (its condition "
                f"'{res.condition}' is false)",
                loc,
                expected="Fn::If on the same condition around the reference",
            )

    def _function(self, key: str, arg: Any, loc: Loc) -> Any:
        name = key.removeprefix("Fn::")
        handler = getattr(self, f"_fn_{name.lower()}", None)
        if handler is None:
            raise self.error(
                f"unknown intrinsic function {key}", loc, expected=", ".join(FUNCTIONS)
            )
        return handler(arg, loc, (*loc, key))

    def _args(self, arg: Any, n: int, loc: Loc, what: str, form: str) -> list[Any]:
        if not isinstance(arg, list) or len(arg) != n:
            raise self.error(f"{what} takes {n} arguments", loc, expected=form)
        return arg

    def _str(self, value: Any, loc: Loc, what: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        raise self.error(f"{what} needs a string here, got {type(value).__name__}", loc)

    def _fn_getatt(self, arg: Any, loc: Loc, inner: Loc) -> Any:
        target = _getatt_target(arg)
        if target is None or not isinstance(arg, list | str):
            raise self.error("Fn::GetAtt takes a logical ID and an attribute", loc)
        if isinstance(arg, str):
            attr: Any = arg.split(".", 1)[1] if "." in arg else ""
        else:
            attr = self.resolve(arg[1], (*inner, 1)) if len(arg) > 1 else ""
        return self.getatt(target, self._str(attr, loc, "Fn::GetAtt"), loc)

    def _fn_sub(self, arg: Any, loc: Loc, inner: Loc) -> str:
        variables: dict[str, Any] = {}
        text = arg
        if isinstance(arg, list):
            text, raw_vars = self._args(arg, 2, loc, "Fn::Sub", "[string, {name: value}]")
            resolved = self.resolve(raw_vars, (*inner, 1))
            if not isinstance(resolved, dict):
                raise self.error("Fn::Sub's variables must be a mapping", loc)
            variables = resolved
        if not isinstance(text, str):
            raise self.error("Fn::Sub needs a string to substitute into", loc)

        def one(m: re.Match[str]) -> str:
            var = m.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"
            if var in variables:
                return self._str(variables[var], loc, "Fn::Sub")
            if "." in var and not var.startswith("AWS::"):
                res, attr = var.split(".", 1)
                return self._str(self.getatt(res, attr, loc), loc, "Fn::Sub")
            return self._str(self.ref(var, loc), loc, "Fn::Sub")

        return _SUB_VAR.sub(one, text)

    def _fn_join(self, arg: Any, loc: Loc, inner: Loc) -> str:
        delim, items = self._args(arg, 2, loc, "Fn::Join", "[delimiter, [values]]")
        values = self.resolve(items, (*inner, 1))
        if not isinstance(values, list):
            raise self.error("Fn::Join needs a list of values", loc)
        return self._str(delim, loc, "Fn::Join").join(self._str(v, loc, "Fn::Join") for v in values)

    def _fn_select(self, arg: Any, loc: Loc, inner: Loc) -> Any:
        index, items = self._args(arg, 2, loc, "Fn::Select", "[index, [values]]")
        i = self.resolve(index, (*inner, 0))
        values = self.resolve(items, (*inner, 1))
        try:
            k = int(i)
        except (TypeError, ValueError):
            raise self.error(f"Fn::Select: index '{i}' is not a number", loc) from None
        if not isinstance(values, list) or not 0 <= k < len(values):
            n = len(values) if isinstance(values, list) else 0
            raise self.error(f"Fn::Select: index {k} is out of range for a list of {n}", loc)
        return values[k]

    def _fn_split(self, arg: Any, loc: Loc, inner: Loc) -> list[str]:
        delim, text = self._args(arg, 2, loc, "Fn::Split", "[delimiter, string]")
        value = self._str(self.resolve(text, (*inner, 1)), loc, "Fn::Split")
        return value.split(self._str(delim, loc, "Fn::Split"))

    def _fn_if(self, arg: Any, loc: Loc, inner: Loc) -> Any:
        cond, yes, no = self._args(arg, 3, loc, "Fn::If", "[condition, value if true, if false]")
        if not isinstance(cond, str):
            raise self.error("Fn::If's first argument is a condition's name", loc)
        if self.condition(cond, loc):
            return self.resolve(yes, (*inner, 1))
        return self.resolve(no, (*inner, 2))

    def _fn_equals(self, arg: Any, loc: Loc, inner: Loc) -> bool:
        a, b = self._args(arg, 2, loc, "Fn::Equals", "[value, value]")
        va, vb = self.resolve(a, (*inner, 0)), self.resolve(b, (*inner, 1))
        if isinstance(va, list | dict) or isinstance(vb, list | dict):
            return bool(va == vb)
        return self._str(va, loc, "Fn::Equals") == self._str(vb, loc, "Fn::Equals")

    def _conds(self, arg: Any, loc: Loc, inner: Loc, what: str) -> list[bool]:
        if not isinstance(arg, list) or not arg:
            raise self.error(f"{what} takes a list of conditions", loc)
        return [self._cond_value(c, (*inner, i)) for i, c in enumerate(arg)]

    def _fn_not(self, arg: Any, loc: Loc, inner: Loc) -> bool:
        values = self._conds(arg, loc, inner, "Fn::Not")
        if len(values) != 1:
            raise self.error("Fn::Not takes one condition", loc)
        return not values[0]

    def _fn_and(self, arg: Any, loc: Loc, inner: Loc) -> bool:
        return all(self._conds(arg, loc, inner, "Fn::And"))

    def _fn_or(self, arg: Any, loc: Loc, inner: Loc) -> bool:
        return any(self._conds(arg, loc, inner, "Fn::Or"))

    def _fn_findinmap(self, arg: Any, loc: Loc, inner: Loc) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            raise self.error(
                "Fn::FindInMap takes three arguments", loc, expected="[map, top key, second key]"
            )
        keys = [
            self._str(self.resolve(a, (*inner, i)), loc, "Fn::FindInMap")
            for i, a in enumerate(arg[:3])
        ]
        node: Any = self.mappings
        for depth, key in enumerate(keys):
            if not isinstance(node, dict) or key not in node:
                what = ("map", "top-level key", "second-level key")[depth]
                where = "Mappings" if depth == 0 else "Mappings." + ".".join(keys[:depth])
                raise self.error(
                    f"Fn::FindInMap: no {what} '{key}' in {where}",
                    loc,
                    expected=_one_of(node) if isinstance(node, dict) else None,
                )
            node = node[key]
        return node

    def _fn_getazs(self, arg: Any, loc: Loc, inner: Loc) -> list[str]:
        region = self._str(self.resolve(arg, inner), loc, "Fn::GetAZs") or self.region
        return [f"{region}{s}" for s in "abc"]

    def _fn_importvalue(self, arg: Any, loc: Loc, inner: Loc) -> str:
        name = self._str(self.resolve(arg, inner), loc, "Fn::ImportValue")
        self.imports.append((name, format_loc(loc)))
        return f"<import:{name}>"

    def _fn_base64(self, arg: Any, loc: Loc, inner: Loc) -> str:
        text = self._str(self.resolve(arg, inner), loc, "Fn::Base64")
        return base64.b64encode(text.encode()).decode()

    def _fn_cidr(self, arg: Any, loc: Loc, inner: Loc) -> list[str]:
        block, count, bits = self._args(arg, 3, loc, "Fn::Cidr", "[ipBlock, count, cidrBits]")
        try:
            net = ipaddress.ip_network(self._str(self.resolve(block, (*inner, 0)), loc, "Fn::Cidr"))
            n = int(self.resolve(count, (*inner, 1)))
            host_bits = int(self.resolve(bits, (*inner, 2)))
            subnets = net.subnets(new_prefix=net.max_prefixlen - host_bits)
            return [str(s) for _, s in zip(range(n), subnets, strict=False)]
        except (TypeError, ValueError) as exc:
            raise self.error(f"Fn::Cidr: {exc}", loc) from None

    def _fn_length(self, arg: Any, loc: Loc, inner: Loc) -> int:
        value = self.resolve(arg, inner)
        if not isinstance(value, list):
            raise self.error("Fn::Length needs a list", loc)
        return len(value)

    def _fn_tojsonstring(self, arg: Any, loc: Loc, inner: Loc) -> str:
        return json.dumps(self.resolve(arg, inner), sort_keys=True, separators=(",", ":"))

    def owner(self, value: Any) -> str | None:
        """The logical ID of the resource whose stand-in value ``value`` is or contains
        (the longest stand-in found wins), or None."""
        if not isinstance(value, str):
            return None
        hit = self.symbols.get(value)
        if hit is not None:
            return hit[0]
        best: tuple[int, str] | None = None
        for text, (lid, _) in self.symbols.items():
            if len(text) >= 6 and text in value and (best is None or len(text) > best[0]):
                best = (len(text), lid)
        return best[1] if best is not None else None

    def attribute(self, value: Any) -> str | None:
        """The attribute (None for a Ref) that produced exactly ``value``."""
        hit = self.symbols.get(value) if isinstance(value, str) else None
        return hit[1] if hit is not None else None

    # ---- stand-in values for resources ----------------------------------------------------
    def _register(self, text: str, res: Resource, attr: str | None) -> str:
        self.symbols.setdefault(text, (res.logical_id, attr))
        if text.startswith(("https://", "http://")):  # a URL: its host name too
            host = text.split("/")[2]
            self.symbols.setdefault(host, (res.logical_id, attr))
        return text

    def physical_name(self, res: Resource) -> str:
        """The resource's name: its own name property, or a CloudFormation-style one."""
        key = _NAME_PROPERTY.get(res.type)
        raw = res.raw.get("Properties", {})
        if key and isinstance(raw, dict) and key in raw:
            value = self.resolve(raw[key], (*res.loc, "Properties", key))
            if isinstance(value, str | int) and str(value):
                return str(value)
        suffix = _hash(f"{self.stack_name}/{res.logical_id}", 12).upper()
        name = f"{self.stack_name}-{res.logical_id}-{suffix}"
        if res.type == "AWS::S3::Bucket":
            return name.lower()[:63]
        return name

    def _symbol(self, res: Resource, attr: str | None) -> Any:
        region = res.region or self.region
        h = _hash(f"{self.stack_name}/{res.logical_id}", 14)
        value: Any
        if attr is None:
            value = self._ref_value(res, region, h)
        else:
            value = self._attr_value(res, attr, region, h)
        if value is None:
            value = f"<{res.logical_id}.{attr}>"
        if isinstance(value, list):
            return [self._register(v, res, attr) for v in value]
        return self._register(value, res, attr)

    def _ref_value(self, res: Resource, region: str, h: str) -> str:
        t, acct = res.type, self.account_id
        if t == "AWS::CloudFront::Distribution":
            return "E" + h[:13].upper()
        if t in ("AWS::CloudFront::CachePolicy", "AWS::CloudFront::OriginRequestPolicy"):
            return _uuid(res.logical_id + h)
        if t == "AWS::Route53::HostedZone":
            return "Z" + h[:13].upper()
        if t == "AWS::Route53::HealthCheck":
            return _uuid(res.logical_id + h)
        if t in ("AWS::Route53::RecordSet",):
            raw = res.raw.get("Properties", {})
            if isinstance(raw, dict) and "Name" in raw:
                return str(self.resolve(raw["Name"], (*res.loc, "Properties", "Name")))
        if t == "AWS::GlobalAccelerator::Accelerator":
            return f"arn:aws:globalaccelerator::{acct}:accelerator/{_uuid(h)}"
        if t == "AWS::GlobalAccelerator::Listener":
            return f"arn:aws:globalaccelerator::{acct}:accelerator/x/listener/{h[:8]}"
        if t == "AWS::GlobalAccelerator::EndpointGroup":
            return f"arn:aws:globalaccelerator::{acct}:accelerator/x/endpoint-group/{h[:12]}"
        if t in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
            return h[:10]
        if t == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            return (
                f"arn:aws:elasticloadbalancing:{region}:{acct}:loadbalancer/app/"
                f"{self.physical_name(res)[:32]}/{h[:16]}"
            )
        if t == "AWS::ElasticLoadBalancingV2::TargetGroup":
            return (
                f"arn:aws:elasticloadbalancing:{region}:{acct}:targetgroup/"
                f"{self.physical_name(res)[:32]}/{h[:16]}"
            )
        if t == "AWS::ECS::Service":
            return f"arn:aws:ecs:{region}:{acct}:service/{self.physical_name(res)}"
        if t == "AWS::ECS::TaskDefinition":
            return f"arn:aws:ecs:{region}:{acct}:task-definition/{res.logical_id}:1"
        if t == "AWS::EC2::Instance":
            return "i-" + h[:17]
        if t == "AWS::EC2::EIP":
            return "198.51.100." + str(int(h[:4], 16) % 250 + 2)
        return self.physical_name(res)

    def _attr_value(self, res: Resource, attr: str, region: str, h: str) -> Any:
        t, acct = res.type, self.account_id
        name = self.physical_name(res)
        table: dict[str, dict[str, Any]] = {
            "AWS::CloudFront::Distribution": {
                "DomainName": f"d{h[:13]}.cloudfront.net",
                "Id": "E" + h[:13].upper(),
            },
            "AWS::GlobalAccelerator::Accelerator": {
                "DnsName": f"a{h[:16]}.awsglobalaccelerator.com",
                "DualStackDnsName": f"a{h[:16]}.dualstack.awsglobalaccelerator.com",
                "AcceleratorArn": f"arn:aws:globalaccelerator::{acct}:accelerator/{_uuid(h)}",
                "Ipv4Addresses": ["203.0.113.10", "203.0.113.11"],
            },
            "AWS::GlobalAccelerator::Listener": {
                "ListenerArn": f"arn:aws:globalaccelerator::{acct}:accelerator/x/listener/{h[:8]}"
            },
            "AWS::Lambda::Function": {
                "Arn": f"arn:aws:lambda:{region}:{acct}:function:{name}",
            },
            "AWS::Serverless::Function": {
                "Arn": f"arn:aws:lambda:{region}:{acct}:function:{name}",
            },
            "AWS::Lambda::Url": {
                "FunctionUrl": f"https://{h[:14]}.lambda-url.{region}.on.aws/",
                "FunctionArn": f"arn:aws:lambda:{region}:{acct}:function:{name}",
            },
            "AWS::S3::Bucket": {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
                "DualStackDomainName": f"{name}.s3.dualstack.{region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
            },
            "AWS::ElasticLoadBalancingV2::LoadBalancer": {
                "DNSName": f"{name[:32].lower()}-{int(h[:8], 16)}.{region}.elb.amazonaws.com",
                "CanonicalHostedZoneID": "Z35SXDOTRQ7X7K",
                "LoadBalancerFullName": f"app/{name[:32]}/{h[:16]}",
            },
            "AWS::ElasticBeanstalk::Environment": {
                "EndpointURL": f"{name.lower()}.{region}.elasticbeanstalk.com",
            },
            "AWS::ApiGatewayV2::Api": {
                "ApiEndpoint": f"https://{h[:10]}.execute-api.{region}.amazonaws.com",
                "ApiId": h[:10],
            },
            "AWS::ApiGateway::RestApi": {"RootResourceId": h[10:20], "RestApiId": h[:10]},
            "AWS::Route53::HostedZone": {
                "Id": "Z" + h[:13].upper(),
                "NameServers": [f"ns-{int(h[i : i + 3], 16)}.awsdns-{i}.com" for i in (0, 3)],
            },
            "AWS::Route53::HealthCheck": {"HealthCheckId": _uuid(res.logical_id + h)},
            "AWS::ECS::Service": {
                "Name": name,
                "ServiceArn": f"arn:aws:ecs:{region}:{acct}:service/{name}",
            },
            "AWS::EC2::Instance": {
                "PublicIp": "198.51.100." + str(int(h[:4], 16) % 250 + 2),
                "PublicDnsName": f"ec2-{h[:8]}.{region}.compute.amazonaws.com",
            },
        }
        return table.get(t, {}).get(attr)


_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::ECS::Service": "ServiceName",
    "AWS::ElasticBeanstalk::Environment": "EnvironmentName",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "Name",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "Name",
    "AWS::GlobalAccelerator::Accelerator": "Name",
    "AWS::Route53::HostedZone": "Name",
}


def _getatt_target(arg: Any) -> str | None:
    if isinstance(arg, str):
        return arg.split(".", 1)[0] if "." in arg else None
    if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
        return arg[0]
    return None


def _hash(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _uuid(text: str) -> str:
    h = hashlib.sha256(text.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _one_of(names: Any) -> str:
    items = sorted(str(n) for n in names)
    if not items:
        return "(none defined)"
    shown = ", ".join(items[:12])
    return "one of: " + shown + (f" … ({len(items)} in all)" if len(items) > 12 else "")
