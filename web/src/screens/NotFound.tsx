import { usePageTitle } from "../lib/hooks";
import { Link } from "../lib/router";
import { PageHeader } from "../components/Layout";

export function NotFound() {
  usePageTitle("Page not found");
  return (
    <>
      <PageHeader title="Page not found">
        <p>There is nothing at this address.</p>
      </PageHeader>
      <p>
        <Link href="/">Go to the inbox</Link>
      </p>
    </>
  );
}

export function NotAllowed({ what }: { what: string }) {
  usePageTitle("Not available");
  return (
    <PageHeader title="Not available to your role">
      <p>Only owners and admins can see {what}. Ask one of them if you need something from it.</p>
    </PageHeader>
  );
}
