import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Kinds used by the fixture files; a trailing `?` allows null. */
export type Kind =
  | "string"
  | "integer"
  | "boolean"
  | "uint64"
  | "int64"
  | "base64url"
  | "base64"
  | "array"
  | "object"
  | "datetime"
  | "guid";

export interface Shape {
  required: Record<string, string>;
  optional?: Record<string, string>;
  /** When true, keys outside required/optional are a failure. */
  closed?: boolean;
}

function kindOk(value: unknown, kind: string): boolean {
  if (kind.endsWith("?")) return value === null || kindOk(value, kind.slice(0, -1));
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "uint64":
      return typeof value === "string" && /^\d+$/.test(value);
    case "int64":
      return typeof value === "string" && /^-?\d+$/.test(value);
    case "base64url":
      return typeof value === "string" && /^[A-Za-z0-9_-]*={0,2}$/.test(value);
    case "base64":
      return typeof value === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "datetime":
      return typeof value === "string" && !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value);
    case "guid":
      return typeof value === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

/** Problems of `value` against a documented shape (empty when it conforms). */
export function shapeProblems(value: unknown, shape: Shape, where = "$"): string[] {
  if (typeof value !== "object" || value === null) return [`${where}: not an object`];
  const obj = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, kind] of Object.entries(shape.required)) {
    if (!(key in obj)) problems.push(`${where}.${key}: missing`);
    else if (!kindOk(obj[key], kind))
      problems.push(`${where}.${key}: expected ${kind}, got ${JSON.stringify(obj[key])?.slice(0, 60)}`);
  }
  for (const [key, kind] of Object.entries(shape.optional ?? {})) {
    if (key in obj && !kindOk(obj[key], kind)) problems.push(`${where}.${key}: expected ${kind}`);
  }
  if (shape.closed) {
    const known = new Set([...Object.keys(shape.required), ...Object.keys(shape.optional ?? {})]);
    for (const key of Object.keys(obj)) if (!known.has(key)) problems.push(`${where}.${key}: not a documented field`);
  }
  return problems;
}

export interface ShapeFixture {
  source: string;
  shapes: Record<string, Shape>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

export function loadFixture(name: string): ShapeFixture {
  return JSON.parse(readFileSync(path.join(here, "..", "fixtures", name), "utf8")) as ShapeFixture;
}

/** `../shared` beside the project; tests that need it skip with a message when it is absent. */
export const SHARED_DIR = path.resolve(here, "../../../../shared");
export const REFERENCE_DIR = path.join(SHARED_DIR, "docs/reference");
export const hasReference = existsSync(REFERENCE_DIR);

// ---- Gmail discovery document ----

interface DiscoverySchema {
  type?: string;
  format?: string;
  $ref?: string;
  properties?: Record<string, DiscoverySchema>;
  items?: DiscoverySchema;
  additionalProperties?: DiscoverySchema;
  enum?: string[];
}

export interface Discovery {
  schemas: Record<string, DiscoverySchema>;
  resources: Record<string, unknown>;
}

export function loadDiscovery(): Discovery | undefined {
  const file = path.join(REFERENCE_DIR, "gmail-v1.discovery.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Discovery) : undefined;
}

export function discoveryMethod(
  d: Discovery,
  id: string,
): { response?: { $ref: string }; parameters: Record<string, unknown> } {
  const walk = (node: unknown): unknown => {
    const n = node as { methods?: Record<string, { id: string }>; resources?: Record<string, unknown> };
    for (const m of Object.values(n.methods ?? {})) if (m.id === id) return m;
    for (const r of Object.values(n.resources ?? {})) {
      const hit = walk(r);
      if (hit) return hit;
    }
    return undefined;
  };
  const hit = walk(d) as { response?: { $ref: string }; parameters: Record<string, unknown> } | undefined;
  if (!hit) throw new Error(`no method ${id} in discovery`);
  return hit;
}

/** Validates a JSON value against a discovery schema (properties, items, formats). */
export function discoveryProblems(
  d: Discovery,
  value: unknown,
  schema: DiscoverySchema | string,
  where = "$",
): string[] {
  const s = typeof schema === "string" ? d.schemas[schema]! : schema.$ref ? d.schemas[schema.$ref]! : schema;
  const problems: string[] = [];
  switch (s.type) {
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${where}: expected object`];
      for (const [k, v] of Object.entries(value)) {
        const prop = s.properties?.[k] ?? s.additionalProperties;
        if (!prop) problems.push(`${where}.${k}: not in the discovery schema`);
        else problems.push(...discoveryProblems(d, v, prop, `${where}.${k}`));
      }
      return problems;
    }
    case "array":
      if (!Array.isArray(value)) return [`${where}: expected array`];
      value.forEach((item, i) => problems.push(...discoveryProblems(d, item, s.items!, `${where}[${i}]`)));
      return problems;
    case "string":
      if (typeof value !== "string") return [`${where}: expected string, got ${typeof value}`];
      if ((s.format === "uint64" || s.format === "int64") && !/^-?\d+$/.test(value))
        return [`${where}: expected ${s.format} digits`];
      if (s.format === "byte" && !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return [`${where}: expected base64`];
      if (s.enum && !s.enum.includes(value)) return [`${where}: ${value} not in enum`];
      return [];
    case "integer":
      return Number.isInteger(value) ? [] : [`${where}: expected integer`];
    case "boolean":
      return typeof value === "boolean" ? [] : [`${where}: expected boolean`];
    default:
      return [];
  }
}

// ---- Graph CSDL subset ----

interface CsdlProperty {
  type: string;
  nullable: boolean;
}
interface CsdlType {
  base?: string;
  /** Open types accept undeclared (dynamic) properties. */
  open: boolean;
  properties: Map<string, CsdlProperty>;
  navigation: Set<string>;
  enumMembers?: string[];
}

export type Csdl = Map<string, CsdlType>;

export function loadCsdl(): Csdl | undefined {
  const file = path.join(REFERENCE_DIR, "graph-v1.0.mail.csdl-subset.xml");
  if (!existsSync(file)) return undefined;
  const xml = readFileSync(file, "utf8");
  const types: Csdl = new Map();
  for (const m of xml.matchAll(/<(EntityType|ComplexType)\s+Name="([^"]+)"([^>]*?)(\/>|>([\s\S]*?)<\/\1>)/g)) {
    const attrs = m[3] ?? "";
    const body = m[5] ?? "";
    const base = /BaseType="graph\.([^"]+)"/.exec(attrs)?.[1];
    const properties = new Map<string, CsdlProperty>();
    for (const p of body.matchAll(/<Property\s+Name="([^"]+)"\s+Type="([^"]+)"([^>]*)\/>/g)) {
      properties.set(p[1]!, { type: p[2]!, nullable: !/Nullable="false"/.test(p[3] ?? "") });
    }
    const navigation = new Set([...body.matchAll(/<NavigationProperty\s+Name="([^"]+)"/g)].map((n) => n[1]!));
    types.set(m[2]!, { base, properties, navigation, open: /OpenType="true"/.test(attrs) });
  }
  for (const m of xml.matchAll(/<EnumType\s+Name="([^"]+)">([\s\S]*?)<\/EnumType>/g)) {
    types.set(m[1]!, {
      properties: new Map<string, CsdlProperty>(),
      navigation: new Set<string>(),
      open: false,
      enumMembers: [...m[2]!.matchAll(/Member Name="([^"]+)"/g)].map((x) => x[1]!),
    });
  }
  return types;
}

function allProperties(csdl: Csdl, name: string): Map<string, CsdlProperty> {
  const t = csdl.get(name);
  if (!t) throw new Error(`type ${name} not in CSDL subset`);
  const inherited = t.base ? allProperties(csdl, t.base) : new Map<string, CsdlProperty>();
  return new Map([...inherited, ...t.properties]);
}

function valueProblems(csdl: Csdl, value: unknown, type: string, where: string): string[] {
  const collection = /^Collection\((.+)\)$/.exec(type);
  if (collection) {
    if (!Array.isArray(value)) return [`${where}: expected array`];
    return value.flatMap((v, i) => valueProblems(csdl, v, collection[1]!, `${where}[${i}]`));
  }
  switch (type) {
    case "Edm.String":
      return typeof value === "string" ? [] : [`${where}: expected string`];
    case "Edm.Boolean":
      return typeof value === "boolean" ? [] : [`${where}: expected boolean`];
    case "Edm.Int32":
      return Number.isInteger(value) ? [] : [`${where}: expected Int32`];
    case "Edm.DateTimeOffset":
      return typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
        ? []
        : [`${where}: expected DateTimeOffset, got ${String(value)}`];
    case "Edm.Binary":
      return typeof value === "string" && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)
        ? []
        : [`${where}: expected base64 binary`];
    case "Edm.Guid":
      return typeof value === "string" && /^[0-9a-f-]{36}$/i.test(value) ? [] : [`${where}: expected Guid`];
  }
  const name = type.replace(/^graph\./, "");
  const t = csdl.get(name);
  if (t?.enumMembers)
    return typeof value === "string" && t.enumMembers.includes(value)
      ? []
      : [`${where}: ${String(value)} not in ${name}`];
  return csdlProblems(csdl, value, name, where);
}

/** Problems of a Graph JSON object against the CSDL type (declared keys, non-nullables, value kinds). */
export function csdlProblems(csdl: Csdl, value: unknown, typeName: string, where = "$"): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${where}: expected object`];
  const props = allProperties(csdl, typeName);
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith("@odata.") || key === "@removed") continue;
    const p = props.get(key);
    if (!p) {
      const t = csdl.get(typeName);
      if (!t?.navigation.has(key) && !t?.open) problems.push(`${where}.${key}: not declared on ${typeName}`);
      continue;
    }
    if (v === null) {
      if (!p.nullable) problems.push(`${where}.${key}: null but Nullable=false`);
      continue;
    }
    problems.push(...valueProblems(csdl, v, p.type, `${where}.${key}`));
  }
  for (const [key, p] of props) {
    if (!p.nullable && !(key in value)) problems.push(`${where}.${key}: Nullable=false property missing`);
  }
  return problems;
}
