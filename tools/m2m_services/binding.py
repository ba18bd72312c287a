"""The web-services binding of the SGP.02 v4.2 off-card interfaces (§5.1, Annex on the binding):
SOAP 1.2 envelopes over HTTP(S) with WS-Addressing 1.0 message addressing properties
(To, From, ReplyTo, MessageID, RelatesTo, Action) in the header and the function's message in
the body, built and read with lxml (never as strings).

What no source readable here fixes is a field of :class:`BindingSettings` (each one says where
its default comes from):

- the body namespace: ``http://namespaces.gsma.org/esim-messaging/1`` [C NJIWA, every
  ``@WebService`` of ``io/njiwa/sr/ws``];
- the WS-Addressing namespace: the W3C WS-Addressing 1.0 core namespace (NJIWA writes its
  headers in ``.../2007/05/addressing/metadata`` instead; both parse);
- the Action URI of a function: ``http://gsma.com/{interface}/{group}/{interface}-{function}``
  [C NJIWA ``@Action`` values, e.g. ``http://gsma.com/ES3/ProfileManagent/ES3-SendData``; the
  group word is a setting];
- the body element of a request (the function name, NJIWA's RPC/literal operation) and of its
  response (function name + ``Response``).

A message body is a tree of (name, value) fields whose leaves are text: :func:`to_element` and
:func:`from_element` map it to and from the XML elements of the body namespace.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Union

from lxml import etree

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
"""SOAP 1.2 Part 1 §5 envelope namespace."""
WSA10 = "http://www.w3.org/2005/08/addressing"
"""WS-Addressing 1.0 Core namespace."""
WSA_NJIWA = "http://www.w3.org/2007/05/addressing/metadata"
ANONYMOUS = WSA10 + "/anonymous"
"""WS-Addressing 1.0 Core §2.1: the reply goes back on the same HTTP exchange."""
MAX_MESSAGE = 4 * 1024 * 1024
"""Largest envelope accepted (bytes): a named limit, not from the spec."""

Value = Union[str, list["Field"]]
Field = tuple[str, Value]


class BindingError(ValueError):
    """An envelope that is not SOAP 1.2 with the WS-Addressing headers the binding needs
    (answered with a SOAP Fault, SOAP 1.2 Part 1 §5.4)."""

    def __init__(self, message: str, code: str = "Sender", subcode: str | None = None) -> None:
        super().__init__(message)
        self.code, self.subcode = code, subcode


@dataclass(frozen=True)
class BindingSettings:
    """Codings of the binding that are named settings (see the module docstring)."""

    body_ns: str = "http://namespaces.gsma.org/esim-messaging/1"
    wsa_ns: str = WSA10
    accepted_wsa_ns: tuple[str, ...] = (WSA10, WSA_NJIWA)
    action_template: str = "http://gsma.com/{interface}/{group}/{interface}-{function}"
    request_group: str = "ProfileManagement"
    callback_group: str = "ProfileManagementCallBack"
    response_suffix: str = "Response"

    def action(self, interface: str, function: str, response: bool = False) -> str:
        """The wsa:Action of a request (or of its response, in the call-back group)."""
        group = self.callback_group if response else self.request_group
        return self.action_template.format(interface=interface, group=group, function=function)


DEFAULT = BindingSettings()


@dataclass
class Envelope:
    """One SOAP message: its addressing properties and the body element's name and fields."""

    action: str
    body_name: str
    fields: list[Field] = field(default_factory=list)
    to: str = ANONYMOUS
    sender: str | None = None
    reply_to: str | None = None
    message_id: str = field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")
    relates_to: str | None = None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The text of the first top-level field ``name``."""
        return next((v for n, v in self.fields if n == name and isinstance(v, str)), default)

    def group(self, name: str) -> list[Field] | None:
        """The children of the first top-level field ``name`` that has children."""
        return next((v for n, v in self.fields if n == name and isinstance(v, list)), None)


def to_element(ns: str, name: str, value: Value) -> etree._Element:
    """``value`` as element ``{ns}name``: text, or one child element per field."""
    element = etree.Element(etree.QName(ns, name), nsmap={"rps": ns})
    if isinstance(value, str):
        element.text = value
    else:
        for child_name, child_value in value:
            element.append(to_element(ns, child_name, child_value))
    return element


def from_element(element: etree._Element) -> Value:
    """The field value of ``element`` (the inverse of :func:`to_element`; namespaces dropped)."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return (element.text or "").strip()
    return [(etree.QName(c).localname, from_element(c)) for c in children]


def _epr(ns: str, name: str, address: str) -> etree._Element:
    """A wsa:EndpointReference header (WS-Addressing 1.0 Core §2.1) holding wsa:Address."""
    element = etree.Element(etree.QName(ns, name))
    etree.SubElement(element, etree.QName(ns, "Address")).text = address
    return element


def build(envelope: Envelope, s: BindingSettings = DEFAULT) -> bytes:
    """The SOAP 1.2 envelope of ``envelope`` as UTF-8 XML."""
    wsa = s.wsa_ns
    root = etree.Element(etree.QName(SOAP12, "Envelope"), nsmap={"env": SOAP12, "wsa": wsa, "rps": s.body_ns})
    header = etree.SubElement(root, etree.QName(SOAP12, "Header"))
    for name, text in (("To", envelope.to), ("MessageID", envelope.message_id), ("Action", envelope.action)):
        etree.SubElement(header, etree.QName(wsa, name)).text = text
    if envelope.sender:
        header.append(_epr(wsa, "From", envelope.sender))
    if envelope.reply_to:
        header.append(_epr(wsa, "ReplyTo", envelope.reply_to))
    if envelope.relates_to:
        etree.SubElement(header, etree.QName(wsa, "RelatesTo")).text = envelope.relates_to
    body = etree.SubElement(root, etree.QName(SOAP12, "Body"))
    body.append(to_element(s.body_ns, envelope.body_name, envelope.fields))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def build_fault(code: str, reason: str, subcode: str | None = None, relates_to: str | None = None,
                s: BindingSettings = DEFAULT) -> bytes:
    """A SOAP 1.2 Fault (Part 1 §5.4): env:Code/env:Value (``Sender`` or ``Receiver``), an optional
    WS-Addressing subcode (e.g. ``wsa:ActionNotSupported``), env:Reason/env:Text."""
    root = etree.Element(etree.QName(SOAP12, "Envelope"), nsmap={"env": SOAP12, "wsa": s.wsa_ns})
    header = etree.SubElement(root, etree.QName(SOAP12, "Header"))
    etree.SubElement(header, etree.QName(s.wsa_ns, "Action")).text = s.wsa_ns + "/fault"
    if relates_to:
        etree.SubElement(header, etree.QName(s.wsa_ns, "RelatesTo")).text = relates_to
    fault = etree.SubElement(etree.SubElement(root, etree.QName(SOAP12, "Body")), etree.QName(SOAP12, "Fault"))
    code_element = etree.SubElement(fault, etree.QName(SOAP12, "Code"))
    etree.SubElement(code_element, etree.QName(SOAP12, "Value")).text = f"env:{code}"
    if subcode:
        sub = etree.SubElement(code_element, etree.QName(SOAP12, "Subcode"))
        etree.SubElement(sub, etree.QName(SOAP12, "Value")).text = f"wsa:{subcode}"
    text = etree.SubElement(etree.SubElement(fault, etree.QName(SOAP12, "Reason")), etree.QName(SOAP12, "Text"))
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _header(header: etree._Element | None, namespaces: tuple[str, ...], name: str) -> etree._Element | None:
    if header is None:
        return None
    return next((e for ns in namespaces for e in header.iterchildren(etree.QName(ns, name).text)), None)


def _address(element: etree._Element | None, namespaces: tuple[str, ...]) -> str | None:
    """An EPR's wsa:Address (or, as NJIWA writes From, the element's own text)."""
    if element is None:
        return None
    inner = _header(element, namespaces, "Address")
    return ((inner.text if inner is not None else element.text) or "").strip() or None


def parse(data: bytes, s: BindingSettings = DEFAULT) -> Envelope:
    """Read a SOAP 1.2 envelope; :class:`BindingError` when it is not one, lacks wsa:Action or
    wsa:MessageID (WS-Addressing 1.0 SOAP Binding §3: required on a request that expects a
    reply), or carries a SOAP Fault."""
    if len(data) > MAX_MESSAGE:
        raise BindingError(f"message larger than {MAX_MESSAGE} bytes")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BindingError(f"not XML: {exc}") from None
    if root.tag != etree.QName(SOAP12, "Envelope").text:
        raise BindingError("not a SOAP 1.2 envelope", "VersionMismatch")
    header = root.find(etree.QName(SOAP12, "Header").text)
    body = root.find(etree.QName(SOAP12, "Body").text)
    content = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if len(content) != 1:
        raise BindingError("the SOAP body must hold exactly one element")
    namespaces = s.accepted_wsa_ns

    def text(name: str) -> str | None:
        element = _header(header, namespaces, name)
        return (element.text or "").strip() or None if element is not None else None

    if content[0].tag == etree.QName(SOAP12, "Fault").text:
        reason = content[0].findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") or "SOAP fault"
        raise BindingError(f"SOAP fault: {reason}", "Receiver")
    action, message_id = text("Action"), text("MessageID")
    if action is None:
        raise BindingError("no wsa:Action header", subcode="MessageAddressingHeaderRequired")
    if message_id is None:
        raise BindingError("no wsa:MessageID header", subcode="MessageAddressingHeaderRequired")
    if etree.QName(content[0]).namespace != s.body_ns:
        raise BindingError(f"body element not in {s.body_ns}")
    value = from_element(content[0])
    return Envelope(action=action, body_name=etree.QName(content[0]).localname,
                    fields=value if isinstance(value, list) else [], to=text("To") or ANONYMOUS,
                    sender=_address(_header(header, namespaces, "From"), namespaces),
                    reply_to=_address(_header(header, namespaces, "ReplyTo"), namespaces),
                    message_id=message_id, relates_to=text("RelatesTo"))
