/**
 * The OpenAPI 3.1 document of the REST API, built from the routes themselves: every route the app
 * registers, and for each the zod schemas its `validate` middleware checks (path, query, body),
 * turned into JSON Schema by zod. So the document cannot drift from what the API accepts.
 */
import { z } from "zod";
import { OPENAPI_SCHEMA, type ValidatorMeta } from "./lib/validate";

interface RouteEntry {
  method: string;
  path: string;
  handler: unknown;
}

type JsonSchema = Record<string, unknown>;

const errorSchema: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", description: "Stable, machine-readable reason" },
        message: { type: "string", description: "A sentence for people" },
        details: { description: "For invalid_request: [{path, message}] per field" },
      },
    },
  },
};

/** Hono's `/a/:id{[0-9]+}` as OpenAPI's `/a/{id}`, with the parameter names in order. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const out = path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, (_, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: out, params };
}

/** JSON Schema of what a request may send (before defaults and transforms apply). */
function toJson(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return json;
}

function validatorsOf(handler: unknown): ValidatorMeta[] {
  const meta = (handler as Record<symbol, ValidatorMeta | undefined> | null)?.[OPENAPI_SCHEMA];
  return meta ? [meta] : [];
}

export function openApiDocument(routes: readonly RouteEntry[], origin: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const endpoints = new Map<string, { method: string; path: string; validators: ValidatorMeta[] }>();
  for (const r of routes) {
    if (r.method === "ALL") continue;
    const key = `${r.method} ${r.path}`;
    const entry = endpoints.get(key) ?? { method: r.method, path: r.path, validators: [] };
    entry.validators.push(...validatorsOf(r.handler));
    endpoints.set(key, entry);
  }
  for (const e of endpoints.values()) {
    const { path, params } = openApiPath(e.path);
    const byTarget = new Map(e.validators.map((v) => [v.target, v.schema]));
    const paramProps = (byTarget.get("param") ? toJson(byTarget.get("param")!)["properties"] : undefined) as
      Record<string, JsonSchema> | undefined;
    const parameters: Record<string, unknown>[] = params.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: paramProps?.[name] ?? { type: "string" },
    }));
    const query = byTarget.get("query");
    if (query) {
      const json = toJson(query);
      const required = new Set((json["required"] as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((json["properties"] as Record<string, JsonSchema>) ?? {})) {
        parameters.push({ name, in: "query", required: required.has(name), schema });
      }
    }
    const body = byTarget.get("json");
    const form = byTarget.get("form");
    const operation: Record<string, unknown> = {
      operationId: `${e.method.toLowerCase()}${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body ? { requestBody: { required: true, content: { "application/json": { schema: toJson(body) } } } } : {}),
      ...(form
        ? { requestBody: { required: true, content: { "multipart/form-data": { schema: toJson(form) } } } }
        : {}),
      responses: {
        "2XX": { description: "Success (JSON, or a redirect for the OAuth callbacks)" },
        "4XX": {
          description: "Refused: what was wrong, as JSON",
          content: { "application/json": { schema: errorSchema } },
        },
      },
    };
    (paths[path] ??= {})[e.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Postroom API",
      version: "1",
      description:
        "The shared inbox's REST API. Sign-in sets a session cookie; every state-changing request needs the app's own Origin.",
    },
    servers: [{ url: origin }],
    components: {
      securitySchemes: { session: { type: "apiKey", in: "cookie", name: "__Host-postroom_session" } },
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
  };
}
