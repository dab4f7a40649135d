/**
 * First-start data, saved through the persistence manager as the actor `seed`, so the activity
 * log shows where every record came from. Idempotent: it adds only what is missing, so a restart
 * never duplicates anything.
 */
import { isStorageUnavailable, type Persistence, ValidationError } from 'steadfast/persistence';
import { reader } from './database-reader.js';
import type { Role } from './roles.js';
import { appSettingId, DEFAULT_APP_SETTINGS } from './settings.js';
import { createAppUser } from './users.js';

export const SEED_ACTOR = 'seed';
export const DEMO_USER = {
  username: 'demo',
  password: 'demo',
  displayName: 'Demo User',
  role: 'admin',
} as const satisfies DemoUser;

interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly displayName: string;
  readonly role: Role;
}

/** One user of each role, each password its username (development only, like the demo user). */
export const DEMO_USERS: readonly DemoUser[] = [
  DEMO_USER,
  { username: 'editor', password: 'editor', displayName: 'Eddie Editor', role: 'editor' },
  { username: 'viewer', password: 'viewer', displayName: 'Vera Viewer', role: 'viewer' },
];

export interface SeedOptions {
  /**
   * The demo user and products. Never in production: a known password on a real server is an
   * open door.
   */
  readonly demoData: boolean;
}

export interface SeedReport {
  readonly settingsCreated: number;
  /** The usernames of DEMO_USERS created by this run. */
  readonly usersCreated: readonly string[];
  readonly productsCreated: number;
}

const CATALOGUE: ReadonlyArray<
  readonly [category: string, items: ReadonlyArray<readonly [string, string, number]>]
> = [
  [
    'Furniture',
    [
      ['Oak Desk 160', '489.00', 7],
      ['Walnut Standing Desk', '749.00', 3],
      ['Ergonomic Office Chair', '329.00', 12],
      ['Meeting Table 8-seat', '1190.00', 2],
      ['Bookshelf Tall', '189.00', 9],
      ['Filing Cabinet 3-drawer', '159.00', 4],
    ],
  ],
  [
    'Electronics',
    [
      ['27" 4K Monitor', '379.00', 15],
      ['USB-C Docking Station', '189.90', 22],
      ['Wireless Keyboard', '59.90', 40],
      ['Wireless Mouse', '34.50', 55],
      ['Noise-cancelling Headset', '149.00', 5],
      ['Webcam 1080p', '79.00', 18],
    ],
  ],
  [
    'Stationery',
    [
      ['A4 Paper, 500 sheets', '6.49', 300],
      ['Gel Pens, pack of 10', '8.90', 120],
      ['Spiral Notebook A5', '3.20', 210],
      ['Sticky Notes Assorted', '4.75', 90],
      ['Desk Organizer', '24.00', 14],
      ['Whiteboard Markers, 4', '7.80', 2],
    ],
  ],
  [
    'Lighting',
    [
      ['LED Desk Lamp', '45.00', 26],
      ['Floor Lamp Arc', '139.00', 6],
      ['Daylight Panel 60x60', '98.00', 11],
      ['Clip-on Reading Light', '19.90', 33],
      ['Smart Bulb E27', '14.90', 80],
      ['Cable Reel 10 m', '29.00', 1],
    ],
  ],
  [
    'Kitchen',
    [
      ['Espresso Machine', '449.00', 3],
      ['Electric Kettle', '39.00', 16],
      ['Coffee Beans 1 kg', '21.50', 48],
      ['Ceramic Mugs, set of 6', '32.00', 20],
      ['Water Filter Jug', '27.90', 8],
      ['Dishwasher Tablets, 100', '18.40', 0],
    ],
  ],
  [
    'Storage',
    [
      ['Archive Boxes, pack of 10', '16.90', 70],
      ['Lockable Cabinet', '279.00', 2],
      ['Mobile Pedestal', '169.00', 10],
      ['Wall Shelf 80 cm', '35.00', 25],
      ['Cable Management Tray', '22.00', 37],
      ['Label Maker', '49.00', 9],
    ],
  ],
];

export function demoProducts(): Array<Record<string, unknown>> {
  return CATALOGUE.flatMap(([category, items], categoryIndex) =>
    items.map(([name, price, quantity], itemIndex) => ({
      sku: `${category.slice(0, 3).toUpperCase()}-${String(100 + categoryIndex * 10 + itemIndex)}`,
      name,
      description: `${name} from our ${category.toLowerCase()} range.`,
      price,
      quantity,
      category,
      // One inactive product per category, so the list shows both states.
      active: itemIndex === items.length - 1 ? 0 : 1,
    })),
  );
}

/**
 * Seeds what is missing. Several processes may start at once on one fresh database: the one that
 * loses the race fails on a unique key (or, on SQLite, a stale snapshot) and runs again, finding
 * the winner's rows and adding nothing.
 */
export async function seedDatabase(persistence: Persistence, options: SeedOptions): Promise<SeedReport> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await seedOnce(persistence, options);
    } catch (error) {
      const raced = error instanceof ValidationError || isStorageUnavailable(error);
      if (!raced || attempt >= SEED_ATTEMPTS) throw error;
      // The winner may hold the writer for a while (36 products, a scrypt hash); SQLite refuses a
      // reader's upgrade at once rather than waiting, so back off for up to ~10 s in all.
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 1000)));
    }
  }
}

const SEED_ATTEMPTS = 15;

function seedOnce(persistence: Persistence, options: SeedOptions): Promise<SeedReport> {
  return persistence.runAs(SEED_ACTOR, () =>
    persistence.withTransaction(async () => {
      const db = reader(persistence);
      let settingsCreated = 0;
      for (const field of Object.keys(DEFAULT_APP_SETTINGS) as (keyof typeof DEFAULT_APP_SETTINGS)[]) {
        const id = appSettingId(field);
        const existing = await db.selectFrom('settings').select('id').where('id', '=', id).executeTakeFirst();
        if (existing) continue;
        await persistence.autoSave('Setting', { id, value: JSON.stringify(DEFAULT_APP_SETTINGS[field]) });
        settingsCreated += 1;
      }
      if (!options.demoData) return { settingsCreated, usersCreated: [], productsCreated: 0 };

      const usersCreated: string[] = [];
      for (const user of DEMO_USERS) {
        const existing = await db
          .selectFrom('steadfast_users')
          .select('id')
          .where('username', '=', user.username)
          .executeTakeFirst();
        if (existing) continue;
        await createAppUser(persistence, user);
        usersCreated.push(user.username);
      }
      let productsCreated = 0;
      const anyProduct = await db.selectFrom('products').select('id').limit(1).executeTakeFirst();
      // Products only into an empty catalogue: after a user deletes or renames one, a restart
      // must not bring the demo data back.
      if (!anyProduct) {
        const products = demoProducts();
        await persistence.autoSaveBulk('Product', products);
        productsCreated = products.length;
      }
      return { settingsCreated, usersCreated, productsCreated };
    }),
  );
}
