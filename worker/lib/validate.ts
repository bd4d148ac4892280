import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { ApiError } from "../errors";

/** Where a validator keeps its schema, for the OpenAPI document (worker/openapi.ts). */
export const OPENAPI_SCHEMA = Symbol.for("postroom.openapi.schema");
export interface ValidatorMeta {
  target: keyof ValidationTargets;
  schema: z.ZodType;
}

/**
 * zod validation for a request part; a failure becomes a 400 that lists what was wrong, field by
 * field, in the one error shape. The schema rides along on the middleware, so the OpenAPI document
 * describes exactly what is checked.
 */
export const validate = <T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) => {
  const middleware = zValidator(target, schema, (result) => {
    if (!result.success) {
      const details = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
      throw new ApiError(400, "invalid_request", `The request ${target} is not valid`, details);
    }
  });
  const meta: ValidatorMeta = { target, schema };
  return Object.assign(middleware, { [OPENAPI_SCHEMA]: meta });
};
