/** People, companies and topics for the seeded demo mailboxes. All domains are reserved for examples. */

export interface Persona {
  name: string;
  address: string;
  company: string;
  /** Replies from Outlook carry Thread-Index; from Apple Mail or Gmail they do not. */
  client: "outlook" | "gmail" | "apple" | "thunderbird";
}

export const CUSTOMERS: readonly Persona[] = [
  { name: "José Álvarez", address: "jose.alvarez@iberia-foods.example", company: "Iberia Foods", client: "gmail" },
  { name: "Zoë Brontë", address: "zoe@brontes-books.example", company: "Brontë Books", client: "apple" },
  {
    name: "Łukasz Wróbel",
    address: "l.wrobel@vistula-logistics.example",
    company: "Vistula Logistics",
    client: "outlook",
  },
  { name: "山田 太郎", address: "t.yamada@kyoto-trading.example", company: "Kyoto Trading", client: "outlook" },
  { name: "Ingrid Sørensen", address: "ingrid@nordlys.example", company: "Nordlys AS", client: "thunderbird" },
  { name: "François Dupont", address: "f.dupont@maison-dupont.example", company: "Maison Dupont", client: "outlook" },
  { name: "Αλέξης Παπαδόπουλος", address: "alexis@aegean-ship.example", company: "Aegean Shipping", client: "gmail" },
  { name: "Priya Raghavan", address: "priya.r@lotus-analytics.example", company: "Lotus Analytics", client: "gmail" },
  { name: "Chidi Okeke", address: "chidi@lagos-solar.example", company: "Lagos Solar", client: "apple" },
  {
    name: "Hannah Becker",
    address: "h.becker@becker-werkzeug.example",
    company: "Becker Werkzeug GmbH",
    client: "outlook",
  },
  { name: "Mateo Rossi", address: "mateo@rossi-design.example", company: "Rossi Design", client: "gmail" },
  { name: "Olivia Chen", address: "olivia.chen@harbor-health.example", company: "Harbor Health", client: "outlook" },
  { name: "Ahmed El-Sayed", address: "ahmed@nile-textiles.example", company: "Nile Textiles", client: "gmail" },
  { name: "Sofia Lindqvist", address: "sofia@lindqvist.example", company: "Lindqvist & Co", client: "apple" },
  { name: "Diego Fernández", address: "diego.f@andes-coffee.example", company: "Andes Coffee", client: "thunderbird" },
  { name: "Emily Watson", address: "emily.watson@greenleaf.example", company: "Greenleaf Grocers", client: "outlook" },
  { name: "Noah Kim", address: "noah@seoul-robotics.example", company: "Seoul Robotics", client: "gmail" },
  { name: "Aisha Khan", address: "aisha.khan@crescent-pharma.example", company: "Crescent Pharma", client: "outlook" },
  { name: "Björn Ólafsson", address: "bjorn@fjord-fisheries.example", company: "Fjord Fisheries", client: "apple" },
  { name: "Camille Moreau", address: "camille@atelier-moreau.example", company: "Atelier Moreau", client: "gmail" },
  { name: "Rafael Souza", address: "rafael@amazonia-craft.example", company: "Amazônia Craft", client: "thunderbird" },
  {
    name: "Grace O'Neill",
    address: "grace.oneill@shamrock-events.example",
    company: "Shamrock Events",
    client: "outlook",
  },
  { name: "Tomás Novák", address: "tomas@vltava-glass.example", company: "Vltava Glass", client: "gmail" },
  { name: "Mei Lin", address: "mei.lin@jade-cosmetics.example", company: "Jade Cosmetics", client: "apple" },
];

export const COLLEAGUE_NAMES = ["Ana", "Ben", "Carla", "Dev", "Eva", "Femi", "Gus", "Hiro", "Iris", "Jon"];

export interface Topic {
  subjects: string[];
  opening: string[];
  followUp: string[];
  answer: string[];
}

export const SALES_TOPICS: readonly Topic[] = [
  {
    subjects: [
      "Quote request: {qty} units of the Pro plan",
      "Pricing for {qty} seats",
      "Volume discount for {company}?",
    ],
    opening: [
      "We are evaluating your product for our team of about {qty} people. Could you send us a quote, including any volume discount?",
      "Could you share pricing for {qty} seats on an annual contract? We would like to start next month.",
    ],
    followUp: [
      "Thanks for the quick reply. Does the price include onboarding and the premium support tier?",
      "That looks reasonable. Can we get net-60 payment terms instead of net-30?",
      "Our finance team asked whether the quote is valid until the end of the quarter.",
    ],
    answer: [
      "Thanks for reaching out! I've attached a quote for {qty} seats. Annual billing includes a 12% discount.",
      "Happy to help. Onboarding is included; premium support is an add-on at 8% of the licence fee.",
      "Yes, the quote is valid for 60 days. Let me know if you would like to schedule a call with our solutions team.",
    ],
  },
  {
    subjects: ["Demo for {company}", "Can we book a product demo?", "Follow-up on yesterday's call"],
    opening: [
      "Hi, we'd love to see a live demo of the shared inbox features. Are you available on Thursday afternoon?",
      "Following up on our call: could you send the recording and the slides?",
    ],
    followUp: ["Thursday at 15:00 CET works for us.", "Great, I've forwarded the invitation to my colleagues."],
    answer: [
      "Absolutely. I've sent a calendar invitation for Thursday. Feel free to forward it to your team.",
      "Here are the slides from the call. The recording will follow once it has been processed.",
    ],
  },
  {
    subjects: ["Invoice {invoice} question", "Wrong VAT number on invoice {invoice}", "Payment for invoice {invoice}"],
    opening: [
      "Invoice {invoice} shows our old VAT number. Could you reissue it with the correct one?",
      "We paid invoice {invoice} last week but it still shows as outstanding in the portal.",
    ],
    followUp: ["Thank you, received the corrected invoice.", "Our bank reference is TRX-{qty}{qty}."],
    answer: [
      "Sorry about that! I've attached the corrected invoice {invoice}.",
      "Thanks for the heads-up. I can see the payment now; the portal will update within a day.",
    ],
  },
  {
    subjects: ["Delivery delayed for order {invoice}", "Shipping to {company}", "Order {invoice} arrived damaged"],
    opening: [
      "Our order {invoice} was due on Monday and has not arrived. Can you check the tracking?",
      "Two boxes from order {invoice} arrived damaged. Photos attached.",
    ],
    followUp: [
      "The courier just called, it will arrive tomorrow.",
      "Please send the replacement to our second warehouse.",
    ],
    answer: [
      "I'm sorry for the delay. The carrier confirms delivery tomorrow before noon.",
      "Thanks for the photos. A replacement is on its way at no cost; no need to return the damaged items.",
    ],
  },
  {
    subjects: ["Contract renewal {year}", "Renewal terms for {company}", "Upgrading our plan"],
    opening: [
      "Our contract renews next month. Before we sign, can we discuss moving to the Enterprise plan?",
      "We'd like to add {qty} more seats mid-term. How is that billed?",
    ],
    followUp: ["Sounds good, please send the updated order form.", "Signed copy attached."],
    answer: [
      "Of course. Seats added mid-term are prorated to your renewal date. Updated order form attached.",
      "Thanks, we've received the signed order form. Welcome to Enterprise!",
    ],
  },
];

export const SUPPORT_TOPICS: readonly Topic[] = [
  {
    subjects: ["Cannot log in since this morning", "Password reset email not arriving", "Locked out of my account"],
    opening: [
      "Since this morning I get 'invalid credentials' even after resetting my password. Can you help?",
      "I requested a password reset three times but no email arrived. I checked the spam folder.",
    ],
    followUp: ["Still not working, I've attached a screenshot.", "That fixed it, thanks a lot!"],
    answer: [
      "Thanks for reporting this. I've cleared the lock on your account; please try again in five minutes.",
      "Our mail provider had a delay this morning. The reset link should arrive now.",
    ],
  },
  {
    subjects: ["Export to CSV fails", "Error 500 when exporting report", "Export stuck at 99%"],
    opening: [
      "Exporting the monthly report to CSV fails with an error 500. It worked last week.",
      "The export has been stuck at 99% for an hour.",
    ],
    followUp: ["Here is the request id from the error page: {invoice}.", "Works again, thanks."],
    answer: [
      "We found the cause (a timeout on large reports) and deployed a fix. Could you try again?",
      "Thanks for the request id. Our engineers are looking into it; I'll update you within the day.",
    ],
  },
  {
    subjects: ["Feature request: dark mode", "Can we get SSO with Okta?", "API rate limits"],
    opening: [
      "Our team works late and would love a dark mode. Is it on the roadmap?",
      "We are hitting the API rate limit during our nightly sync. Can it be raised?",
    ],
    followUp: ["Thanks, looking forward to it.", "Our peak is around {qty} requests per minute."],
    answer: [
      "Dark mode is planned for next quarter. I've added your vote to the request.",
      "We can raise the limit on the Business plan. I've opened a ticket with our platform team.",
    ],
  },
  {
    subjects: ["Billing address change", "Refund for duplicate charge", "Receipt needed for {year}"],
    opening: [
      "We were charged twice this month (see attached statement). Could you refund the duplicate?",
      "Please update our billing address to the new office.",
    ],
    followUp: ["Refund received, thank you.", "New address: 12 Harbour Street, Suite {qty}."],
    answer: [
      "Apologies for the double charge. The refund has been issued and should appear in 3-5 business days.",
      "Done: the billing address is updated and will appear on the next invoice.",
    ],
  },
];

/** A 1x1 PNG, for inline signature images. */
export const PIXEL_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

/** A tiny, valid one-page PDF, for quotes and invoices. */
export function pdfBytes(title: string): Buffer {
  const text = title.replace(/[()\\]/g, "");
  const body = `%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj\n4 0 obj<</Length ${44 + text.length}>>stream\nBT /F1 14 Tf 20 100 Td (${text}) Tj ET\nendstream endobj\n5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n`;
  return Buffer.from(body, "latin1");
}
