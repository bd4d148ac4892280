import { ulid } from "ulid";

/** Unguessable, time-sortable ids for every row we create. */
export const newId = (): string => ulid();
