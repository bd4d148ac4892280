/**
 * Quick checks before a request, so an obvious typo is caught without a round trip. Deliberately
 * looser than the server's schema (which stays the authority and whose 400 is shown as is); the
 * zod schemas are not imported here to keep zod out of the bundle.
 */
export function emailProblem(value: string): string | null {
  const v = value.trim();
  if (!v) return "Enter your email address.";
  if (v.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) return "Enter an email address like name@example.com.";
  return null;
}
