"""Rich sends and media downloads: one method per gateway route (companion contract §2, §3.2).

Part of GatewayClient (a mixin, so client.py stays readable); every method makes one HTTP call
and answers a SentMessage or raises the GatewayError family, exactly like ``send_text``: an
answer without a message in it (``[null]``, ``[false]``) is a ProtocolError, whose delivery is
unknown, so the caller reconciles instead of sending again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

import requests

from . import media, parse
from .media import Upload
from .transport import from_exception
from .types import SentMessage

if TYPE_CHECKING:
    from .errors import GatewayError


class SendsMixin:
    if TYPE_CHECKING:
        _call: Callable[..., requests.Response]
        _path: Callable[..., str]
        _json: Callable[[requests.Response, str], Any]
        _post: Callable[..., Any]
        _recipient: Callable[[str, str], tuple[dict[str, Any], str]]
        _where: str

    def _send_streamed(
        self, route: str, body: media.StreamedBody, content_type: str, read_timeout: float | None
    ) -> Any:
        response = self._call(
            "POST",
            route,
            self._path(route),
            data=body,
            content_type=content_type,
            read_timeout=read_timeout,
        )
        return self._json(response, route)

    def send_file(
        self,
        to: str,
        upload: Upload,
        *,
        kind: str,
        caption: str = "",
        quoted_id: str = "",
        read_timeout: float | None = None,
    ) -> SentMessage:
        """An image, video, audio file or document (`kind`), as a data URL (send-file-base64,
        §2.1); a file too large for the server's JSON limit goes as a form (send-file)."""
        route = "send-file-base64"
        body, chat = self._recipient(to, route)
        # wa-js names the file exactly as given, "file" when absent; its type is forced, so a
        # photo sent as a document stays a document (MediaPrep would pick by the bytes).
        fields: dict[str, Any] = {**body, "filename": upload.filename or "file"}
        if caption:
            fields["caption"] = caption
        if quoted_id:
            fields["quotedMessageId"] = quoted_id
        fields["options"] = {"type": kind}
        streamed = media.data_url_json(fields, "base64", upload)
        if len(streamed) > media.JSON_BODY_LIMIT:
            return self._send_file_form(to, upload, caption, quoted_id, read_timeout)
        answer = self._send_streamed(route, streamed, "application/json", read_timeout)
        return parse.sent_message(answer, route, chat)

    def _send_file_form(
        self, to: str, upload: Upload, caption: str, quoted_id: str, read_timeout: float | None
    ) -> SentMessage:
        """send-file with a multipart upload (§1.4: no size limit there). The server takes the
        type from the upload's file extension and ignores its Content-Type; every `isGroup`
        value, even "false", means a group in a form (§1.3), so it is sent only for groups."""
        route = "send-file"
        body, chat = self._recipient(to, route)
        fields = {"phone": str(body["phone"]), "filename": upload.filename or "file"}
        if body.get("isGroup"):
            fields["isGroup"] = "true"
        if body.get("isLid"):
            fields["isLid"] = "true"
        if caption:
            fields["caption"] = caption
        if quoted_id:
            fields["quotedMessageId"] = quoted_id
        named = Upload(upload.open, upload.size, upload.mime, f"upload.{upload.extension}")
        form = media.multipart_form(fields, "file", named)
        content_type = f"multipart/form-data; boundary={form.boundary}"  # type: ignore[attr-defined]
        answer = self._send_streamed(route, form, content_type, read_timeout)
        return parse.sent_message(answer, route, chat)

    def send_voice(
        self, to: str, upload: Upload, *, quoted_id: str = "", read_timeout: float | None = None
    ) -> SentMessage:
        """A voice note (PTT) from a data URL (send-voice-base64, §2.3)."""
        route = "send-voice-base64"
        body, chat = self._recipient(to, route)
        fields: dict[str, Any] = dict(body)
        if quoted_id:
            fields["quotedMessageId"] = quoted_id
        streamed = media.data_url_json(fields, "base64Ptt", upload)
        answer = self._send_streamed(route, streamed, "application/json", read_timeout)
        return parse.sent_message(answer, route, chat)

    def send_location(
        self, to: str, latitude: float, longitude: float, *, name: str = "", address: str = ""
    ) -> SentMessage:
        """A place on the map (send-location, §2.5); WhatsApp shows "name\\naddress" with it."""
        route = "send-location"
        body, chat = self._recipient(to, route)
        fields: dict[str, Any] = {**body, "lat": latitude, "lng": longitude}
        if name:
            fields["title"] = name
        if address:
            fields["address"] = address
        return parse.sent_message(self._post(route, fields), route, chat)

    def send_contact(self, to: str, contact_phone: str, name: str) -> SentMessage:
        """A contact card (contact-vcard, §2.6): one WhatsApp number and a name. It answers 200
        with one object, not a list."""
        route = "contact-vcard"
        body, chat = self._recipient(to, route)
        number = parse.digits(contact_phone)
        fields = {**body, "contactsId": f"{number}@c.us", "name": name}
        return parse.sent_single(self._post(route, fields), route, chat)

    def send_reply(self, to: str, text: str, quoted_id: str) -> SentMessage:
        """A text quoting an earlier message (send-reply, §2.7)."""
        route = "send-reply"
        body, chat = self._recipient(to, route)
        fields = {**body, "message": text, "messageId": quoted_id}
        return parse.sent_message(self._post(route, fields), route, chat)

    def download_media(
        self, message_id: str, sink: IO[bytes], *, max_bytes: int, read_timeout: float | None = None
    ) -> str:
        """Write a received message's file into `sink`; returns its mimetype (download-media,
        §3.2: `{"base64", "mimetype"}`, decoded as it arrives)."""
        route = "download-media"
        response = self._call(
            "POST",
            route,
            self._path(route),
            json={"messageId": message_id},
            read_timeout=read_timeout,
            stream=True,
        )
        try:
            return media.read_base64_answer(response.iter_content(64 * 1024), sink, max_bytes)
        except requests.RequestException as exc:
            error: GatewayError = from_exception(exc, route, self._where)
            raise error from None
        finally:
            response.close()
