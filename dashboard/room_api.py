"""The crisis room's calls to the Signaal API: rumour cases and their workflow, incidents and their cycle,
briefings and exports. Pages that act (the rumour board, the incident page) use this; the live pages read
through ``dashboard.client.LiveFeed``.

A refusal from the API (a stale version, a case someone else owns, a step the workflow does not have) is
raised as :class:`Refused` with the API's own words, so a page can show it to the adviser as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from dashboard.client import ApiClient, iso


class Refused(RuntimeError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _readable(detail: Any) -> str:
    """FastAPI's validation errors are a list of dicts; an adviser reads "message: field" lines."""
    if isinstance(detail, list):
        parts = []
        for problem in detail:
            if isinstance(problem, dict):
                loc = list(problem.get("loc", ()))
                where = ".".join(str(p) for p in (loc[1:] if loc[:1] == ["body"] else loc))
                parts.append(f"{problem.get('msg', problem)}: {where}" if where else str(problem.get("msg")))
            else:
                parts.append(str(problem))
        return "; ".join(parts)
    return detail if isinstance(detail, str) else str(detail)


def _case(case_id: str) -> str:
    return "/api/rumours/" + quote(case_id, safe=":")


class RoomClient(ApiClient):
    def __enter__(self) -> RoomClient:
        return self

    def _send(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body, params=params)
        if response.status_code in (404, 409, 422):
            try:
                payload = response.json()
            except ValueError:
                payload = None
            detail = payload.get("detail", response.text) if isinstance(payload, dict) else response.text
            raise Refused(response.status_code, _readable(detail))
        response.raise_for_status()
        return response.json()

    # --- rumour cases ------------------------------------------------------------------------------------

    def cases(self, *, active: bool = True, status: str | None = None, limit: int = 100) -> dict[str, Any]:
        return self._get("/api/rumours", {"active": active, "status": status, "limit": limit})

    def case(self, case_id: str) -> dict[str, Any]:
        return self._send("GET", _case(case_id))

    def set_status(self, case_id: str, status: str, version: int | None, reason: str | None = None) -> Any:
        return self._send(
            "POST", _case(case_id) + "/status", {"status": status, "version": version, "reason": reason}
        )

    def set_owner(self, case_id: str, owner: str | None, version: int | None, *, force: bool = False) -> Any:
        return self._send(
            "POST", _case(case_id) + "/owner", {"owner": owner, "version": version, "force": force}
        )

    def add_note(self, case_id: str, text: str) -> Any:
        return self._send("POST", _case(case_id) + "/notes", {"text": text})

    def merge(self, case_id: str, other: str, version: int | None = None) -> Any:
        return self._send("POST", _case(case_id) + "/merge", {"other": other, "version": version})

    def split(
        self, case_id: str, post_keys: list[str], claim: str | None = None, *, version: int | None = None
    ) -> Any:
        body = {"post_keys": post_keys, "claim": claim, "version": version}
        return self._send("POST", _case(case_id) + "/split", body)

    def flag(self, post_key: str, *, case_id: str | None = None, claim: str | None = None) -> Any:
        return self._send("POST", "/api/rumours", {"post_key": post_key, "case_id": case_id, "claim": claim})

    def answer(
        self,
        case_id: str,
        text: str,
        channel: str,
        *,
        url: str | None = None,
        published_at: datetime | None = None,
        incident_id: int | None = None,
        version: int | None = None,
    ) -> Any:
        body = {
            "text": text,
            "channel": channel,
            "url": url or None,
            "published_at": iso(published_at) if published_at else None,
            "incident_id": incident_id,
            "version": version,
        }
        return self._send("POST", _case(case_id) + "/answer", body)

    # --- incidents ---------------------------------------------------------------------------------------

    def incidents(self) -> list[dict[str, Any]]:
        return self._send("GET", "/api/incidents")

    def open_incident(self, title: str, *, area: str | None = None, playbook: str | None = None) -> Any:
        return self._send("POST", "/api/incidents", {"title": title, "area": area, "playbook": playbook})

    def incident(self, incident_id: int) -> dict[str, Any]:
        return self._send("GET", f"/api/incidents/{incident_id}")

    def patch_incident(self, incident_id: int, **changes: Any) -> Any:
        return self._send("PATCH", f"/api/incidents/{incident_id}", changes)

    def analysis_draft(self, incident_id: int, hours: float = 2.0) -> dict[str, Any]:
        return self._send("GET", f"/api/incidents/{incident_id}/drafts/analysis", params={"hours": hours})

    def advice_draft(self, incident_id: int, lang: str = "nl") -> dict[str, Any]:
        return self._send("GET", f"/api/incidents/{incident_id}/drafts/advice", params={"lang": lang})

    def templates(self, incident_id: int) -> list[dict[str, Any]]:
        return self._send("GET", f"/api/incidents/{incident_id}/templates")

    def add_entry(
        self, incident_id: int, step: str, body: dict[str, Any], effective_at: datetime | None = None
    ) -> Any:
        payload = {"step": step, "body": body, "effective_at": iso(effective_at) if effective_at else None}
        return self._send("POST", f"/api/incidents/{incident_id}/entries", payload)

    def entries(self, incident_id: int, *, all_versions: bool = False) -> list[dict[str, Any]]:
        params = {"all_versions": all_versions}
        return self._send("GET", f"/api/incidents/{incident_id}/entries", params=params)

    def edit_entry(self, incident_id: int, entry_id: str, body: dict[str, Any], version: int) -> Any:
        payload = {"body": body, "version": version}
        return self._send("PUT", f"/api/incidents/{incident_id}/entries/{entry_id}", payload)

    def entry_versions(self, incident_id: int, entry_id: str) -> list[dict[str, Any]]:
        return self._send("GET", f"/api/incidents/{incident_id}/entries/{entry_id}/versions")

    def area_volume(
        self, area: str | None, *, since: datetime, until: datetime | None = None, bucket: int = 600
    ) -> dict[str, Any]:
        """Posts per ``bucket`` seconds in one municipality (all of them for ``None``)."""
        params = {"since": iso(since), "until": iso(until) if until else None, "bucket": bucket, "area": area}
        return self._get("/api/stats/volume", params)

    def effects(self, incident_id: int) -> dict[str, Any]:
        return self._send("GET", f"/api/incidents/{incident_id}/effects")

    def audit(self, incident_id: int) -> list[dict[str, Any]]:
        return self._send("GET", f"/api/incidents/{incident_id}/audit")

    def export(self, incident_id: int, fmt: str) -> tuple[bytes, str]:
        """The dossier's bytes and file name."""
        response = self._http.get(f"/api/incidents/{incident_id}/export", params={"format": fmt}, timeout=120)
        response.raise_for_status()
        disposition = response.headers.get("content-disposition", "")
        name = (
            disposition.split("filename=")[-1].strip('"') if "filename=" in disposition else f"incident.{fmt}"
        )
        return response.content, name

    # --- briefing ----------------------------------------------------------------------------------------

    def set_briefing(self, at: datetime | None = None) -> Any:
        return self._send("POST", "/api/briefing", {"at": iso(at) if at else None})
