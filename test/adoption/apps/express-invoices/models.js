// The app's model of its own `invoices` table. Also the `--config` of `npx steadfast activity verify`.
import { defineModel } from 'steadfast/persistence';
import { z } from 'zod';

export const invoiceModel = defineModel({
  name: 'Invoice',
  table: 'invoices',
  primaryKey: 'id',
  generatedKey: true,
  trackedFields: ['customer', 'amount', 'status'],
  schema: z.object({
    customer: z.string().trim().min(1).max(200),
    amount: z.string().regex(/^\d+(\.\d{2})?$/),
    status: z.enum(['draft', 'sent', 'paid']),
  }),
});

export const models = [invoiceModel];
export default { models };
