import type { Route } from "../context.ts";
import { noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { str } from "../http/params.ts";

/** Invoice payments: one per PaymentIntent attempt or attached payment (`/v1/invoice_payments`). */
export const invoicePaymentRoutes: Route[] = [
  {
    method: "GET",
    path: "/v1/invoice_payments",
    handler: (call) => {
      const invoice = str(call.body.invoice, "invoice");
      const status = str(call.body.status, "status");
      const rows = call.emu.state
        .all("invoice_payment")
        .filter((p) => (!invoice || p.invoice === invoice) && (!status || p.status === status));
      return paginate(rows, call.body, "/v1/invoice_payments", (o) => call.emu.state.render(o));
    },
  },
  {
    method: "GET",
    path: "/v1/invoice_payments/:id",
    handler: (call) => {
      const payment = call.emu.state.get("invoice_payment", call.params.id!);
      if (!payment) throw noSuch("invoice_payment", call.params.id!);
      return payment;
    },
  },
];
