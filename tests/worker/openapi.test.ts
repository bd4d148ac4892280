/**
 * The OpenAPI document describes every route the app registers, with the schemas its validators use:
 * a route added without appearing here, or a body the document gets wrong, fails this file.
 */
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { call } from "../support/http";

type Operation = {
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: { "application/json": { schema: Record<string, unknown> } } };
};

describe("GET /api/openapi.json", () => {
  it("lists every registered route and method, with path parameters in OpenAPI form", async () => {
    const r = await call("/api/openapi.json");
    expect(r.status).toBe(200);
    expect(r.json.openapi).toBe("3.1.0");
    const paths = r.json.paths as Record<string, Record<string, Operation>>;
    const registered = new Set(
      app.routes
        .filter((x) => x.method !== "ALL")
        .map((x) => `${x.method.toLowerCase()} ${x.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}")}`),
    );
    const documented = new Set(Object.entries(paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)));
    expect([...documented].sort()).toEqual([...registered].sort());
    expect(documented.has("get /api/openapi.json")).toBe(true);
    const ids = Object.values(paths).flatMap((ops) =>
      Object.values(ops).map((o) => (o as { operationId: string }).operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("carries the request schemas the routes validate with", async () => {
    const paths = (await call("/api/openapi.json")).json.paths as Record<string, Record<string, Operation>>;
    const note = paths["/api/threads/{threadId}/notes"]!["post"]!;
    const body = note.requestBody!.content["application/json"].schema as {
      required: string[];
      properties: Record<string, { maxLength?: number }>;
    };
    expect(body.required).toEqual(["body"]);
    expect(body.properties["body"]!.maxLength).toBe(20_000);
    expect(note.parameters).toContainEqual(
      expect.objectContaining({
        name: "threadId",
        in: "path",
        required: true,
        schema: expect.objectContaining({ pattern: expect.any(String) }),
      }),
    );
    const list = paths["/api/threads"]!["get"]!;
    const status = list.parameters!.find((p) => p.name === "status")!;
    expect(status).toMatchObject({
      in: "query",
      required: false,
      schema: { enum: ["open", "pending", "snoozed", "closed"] },
    });
    const reply = paths["/api/threads/{threadId}/reply"]!["post"]!.requestBody!.content["application/json"].schema as {
      required: string[];
      properties: Record<string, unknown>;
    };
    expect(reply.required).toEqual(expect.arrayContaining(["inboxId", "to", "text"]));
    expect(Object.keys(reply.properties)).toContain("baseVersion");
    expect(Object.keys(reply.properties)).toContain("uploadIds");
    const uploadOp = paths["/api/uploads"]!["post"] as unknown as {
      requestBody: { content: Record<string, { schema: { required: string[]; properties: Record<string, unknown> } }> };
    };
    const upload = uploadOp.requestBody.content["multipart/form-data"]!.schema;
    expect(upload.required).toEqual(["file"]);
    expect(upload.properties["file"]).toMatchObject({
      type: "string",
      format: "binary",
      description: "One file, at most 2000000 bytes",
    });
  });
});
