"""File system Profile Elements: TCA SAIP v3.3.1 §8.3 (template-based PEs: mf, cd, telecom, usim,
opt-usim, isim, opt-isim, phonebook, gsm-access, csim, opt-csim, df-5gs, df-saip) and §8.3.5
(genericFileManagement).

:class:`InstallContext` is the state of one installation shared by the PE handlers: the profile's
file system (a staging view, see euicc.profiles.installer), the :class:`FileBuilder`, and the ADF
of the last NAA of each kind (the context of opt-usim, df-5gs, akaParameter, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from euicc.fs.filesystem import MF_PATH, FileSystem
from euicc.fs.model import ADF, EF, MF
from euicc.profiles.saip_files import (BAD_VALUES, TEMPLATE_NOT_SUPPORTED, FileBuilder, PeError,
                                       describe)
from euicc.profiles.templates import (ROOT_CSIM, ROOT_ISIM, ROOT_MF, ROOT_NONE, ROOT_USIM,
                                      TEMPLATES, FileTemplate, Template)

# The PE alternatives that create files from a template, and the NAA kind an ADF PE defines.
TEMPLATE_PES = frozenset({"mf", "cd", "telecom", "usim", "opt-usim", "isim", "opt-isim",
                          "phonebook", "gsm-access", "csim", "opt-csim", "df-5gs", "df-saip"})
NAA_PES = {"usim": ROOT_USIM, "isim": ROOT_ISIM, "csim": ROOT_CSIM}


@dataclass
class InstallContext:
    """Volatile state of one profile installation."""

    fs: FileSystem
    builder: FileBuilder
    naa: dict[str, str] = field(default_factory=dict)        # ROOT_* -> ADF path of the last NAA
    aids: list[bytes] = field(default_factory=list)          # NAA AIDs in package order
    last_naa: str = ""                                       # ADF path of the most recent NAA

    def root_path(self, root: str) -> str | None:
        if root == ROOT_NONE:
            return None
        if root == ROOT_MF:
            if self.fs.node(MF_PATH) is None:
                raise PeError(BAD_VALUES, "the MF must be created first")
            return MF_PATH
        path = self.naa.get(root)
        if path is None:
            raise PeError(BAD_VALUES, f"no {root} ADF before this element")
        return path


def _header_key(value: dict[str, Any]) -> str:
    return next(k for k in value if k.endswith(("-header", "-Header")))


def install_template_pe(ctx: InstallContext, name: str, value: dict[str, Any]) -> None:
    """Create the files of a template-based PE (SAIP §8.3.1)."""
    template = TEMPLATES.get(value.get("templateID", ""))
    if template is None or template.pe != name:
        raise PeError(TEMPLATE_NOT_SUPPORTED, f"{name}: template {value.get('templateID')} "
                                              "not supported")
    header = _header_key(value)
    listed = {k: v for k, v in value.items() if k not in (header, "templateID")}
    root = ctx.root_path(template.root)
    paths: dict[str, str] = {}
    first = template.files[0] if template.files else None
    for tf in template.files:
        items = listed.pop(tf.pe_name, None)
        if items is None and not template.created_by_default:
            continue
        if items is not None and any(choice == "doNotCreate" for choice, _ in items):
            if not tf.is_df or name != "mf":
                continue
        parent = paths.get(tf.parent) if tf.parent else root if tf is first else _top(
            paths, first, root)
        if tf.parent and parent is None:
            if items is None:
                continue        # a created-by-default file of a DF this package leaves out
            raise PeError(BAD_VALUES, f"{tf.pe_name}: its DF {tf.parent} is not created")
        paths[tf.pe_name] = _create(ctx, template, tf, parent, items or [])
    for pe_name, items in listed.items():    # files the template does not describe
        parent = _top(paths, first, root)
        paths[pe_name] = _create(ctx, template, None, parent, items)
    ctx.builder.flush()
    if name in NAA_PES:
        adf = next(iter(paths.values()), None)
        if adf is None:
            raise PeError(BAD_VALUES, f"{name} without its ADF")
        ctx.naa[NAA_PES[name]] = ctx.last_naa = adf
        ctx.aids.append(ctx.fs.node(adf).aid)


def _top(paths: dict[str, str], first: FileTemplate | None, root: str | None) -> str | None:
    """Where a template's first-level EFs go: its first DF (MF, ADF, DF.TELECOM...), else root."""
    if first is not None and first.is_df:
        return paths.get(first.pe_name)
    return root


def _create(ctx: InstallContext, template: Template, tf: FileTemplate | None,
            parent: str | None, items: list[tuple[str, Any]]) -> str:
    fcp = next((v for choice, v in items if choice == "fileDescriptor"), None)
    extent = sum(v if choice == "fillFileOffset" else len(v) for choice, v in items
                 if choice in ("fillFileOffset", "fillFileContent"))
    new = describe(fcp, tf, parent or MF_PATH,
                   fallback_size=extent if template.sized_by_fill else None)
    if new.desc.kind in (MF, ADF):
        parent = None
    elif parent is None:
        raise PeError(BAD_VALUES, f"{template.pe}: a {new.desc.kind} needs a parent DF")
    path = ctx.builder.create(parent, new)
    _fill(ctx.builder, items, new.desc.kind == EF)
    return path


def _fill(builder: FileBuilder, items: list[tuple[str, Any]], is_ef: bool) -> None:
    for choice, v in items:
        if choice == "fillFileOffset":
            builder.offset(v)
        elif choice == "fillFileContent":
            if not is_ef:
                raise PeError(BAD_VALUES, "fill command for a DF")
            builder.fill(v)


def install_generic_file_management(ctx: InstallContext, value: dict[str, Any]) -> None:
    """PE-GenericFileManagement (SAIP §8.3.5): select by path, create, fill, resize."""
    builder = ctx.builder
    for commands in value["fileManagementCMD"]:
        current_df = MF_PATH
        for choice, v in commands:
            if choice == "filePath":
                path = builder.resolve_path(v)
                node = ctx.fs.node(path)
                if node is not None and node.kind == EF:
                    builder.select(path)
                else:
                    builder.flush()
                    current_df = path
            elif choice == "createFCP":
                new = describe(v, None, current_df, derive_sfi=True)
                builder.create(None if new.desc.kind == ADF else current_df, new)
            elif choice == "fillFileOffset":
                builder.offset(v)
            else:
                builder.fill(v)
    builder.flush()
