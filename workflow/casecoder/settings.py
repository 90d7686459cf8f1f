"""The workflow's configuration: validated against its JSON schema before any job runs."""

from __future__ import annotations

from pathlib import Path

import yaml

from casecoder.errors import InputError

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


def _first_error(config: dict, schema: dict) -> str | None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.path))
    if not errors:
        return None
    error = errors[0]
    if error.validator == "additionalProperties":
        known = ", ".join(schema["properties"])
        extra = sorted(set(config) - set(schema["properties"]))
        return f"config key {extra[0]!r}: unknown key (known keys: {known})"
    key = ".".join(str(p) for p in error.path) or "(config)"
    expected = schema["properties"].get(str(error.path[0]), {}) if error.path else {}
    hint = expected.get("description", "")
    got = error.instance
    return f"config key {key!r}: {error.message} (got {got!r}); {hint}".rstrip("; ")


_BOOLEAN_WORDS = {"true": True, "yes": True, "on": True, "1": True,
                  "false": False, "no": False, "off": False, "0": False}


def _coerce_booleans(config: dict, schema: dict) -> dict:
    """`--config classifier=false` arrives as the string 'false': read it as a boolean."""
    fixed = dict(config)
    for key, spec in schema["properties"].items():
        value = fixed.get(key)
        types = {spec.get("type")} | {s.get("type") for s in spec.get("anyOf", [])}
        if "boolean" in types and isinstance(value, str) and value.lower() in _BOOLEAN_WORDS:
            fixed[key] = _BOOLEAN_WORDS[value.lower()]
    return fixed


def _coerce_file_lists(config: dict) -> dict:
    """`--config agreement=a.csv,b.csv` arrives as one string and `key=` as None."""
    fixed = dict(config)
    if isinstance(fixed.get("agreement"), str):
        fixed["agreement"] = [p.strip() for p in fixed["agreement"].split(",") if p.strip()]
    for key, empty in (("agreement", []), ("heldout_annotations", "")):
        if key in fixed and fixed[key] is None:
            fixed[key] = empty
    return fixed


def _check_agreement_files(full: dict, root: Path) -> None:
    """Files to compare must exist, except those the workflow writes into the results
    folder (e.g. its own segments.csv); the held-out file must exist and stay out of
    the annotations folder, or the model would train on it."""
    results = (root / full["results"]).resolve()
    for name in full["agreement"]:
        path = root / name
        if not path.is_file() and results not in path.resolve().parents:
            raise InputError("config", f"config key 'agreement': no such file: {name}")
    heldout = full["heldout_annotations"]
    if heldout and full["classifier"]:
        path = root / heldout
        if not path.is_file():
            raise InputError("config", f"config key 'heldout_annotations': no such file: {heldout}")
        if path.resolve().parent == (root / full["annotations"]).resolve():
            raise InputError("config", f"config key 'heldout_annotations': {heldout} is in the "
                                       "annotations folder, so the model would train on it")


def check_config(config: dict, root: str | Path = ".") -> dict:
    """Validate the config and the files it points to; return it with defaults filled in.

    Raises InputError with one line naming the key and the problem.
    """
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    config = _coerce_file_lists(_coerce_booleans(config, schema))
    problem = _first_error(config, schema)
    if problem:
        raise InputError("config", problem)
    full = {key: spec.get("default") for key, spec in schema["properties"].items()}
    full.update(config)
    root = Path(root)
    for key, kind in (("transcripts", "folder"), ("annotations", "folder"), ("codebook", "file")):
        if key == "annotations" and not full["classifier"]:
            continue
        path = root / full[key]
        exists = path.is_dir() if kind == "folder" else path.is_file()
        if not exists:
            raise InputError("config", f"config key {key!r}: no such {kind}: {full[key]}")
    _check_agreement_files(full, root)
    return full


def load_yaml_config(path: str | Path) -> dict:
    """Read a config file; a file that is not YAML is a clear error."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(path, f"not a readable YAML config file ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise InputError(path, "a config file must be a YAML mapping of keys to values")
    return data
