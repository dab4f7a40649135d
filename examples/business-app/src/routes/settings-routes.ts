/**
 * `/settings`: the app's configuration and the signed-in user's preferences, two forms, each
 * saved through autoSave with the versions it was loaded at, so every change is logged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError } from 'steadfast/persistence';
import type { z } from 'zod';
import { parseVersion } from '../product-form.js';
import { renderPage, setFlash } from '../render.js';
import { askBeforeWriting } from '../roles.js';
import { signedInUserId } from '../session-user.js';
import {
  type AppSettings,
  appSettingsSchema,
  CURRENCIES,
  PAGE_SIZES,
  readAppSettings,
  readUserPreferences,
  saveAppSettings,
  saveUserPreferences,
  THEMES,
  type UserPreferences,
  userPreferencesSchema,
} from '../settings.js';
import type { RouteDependencies } from './route-dependencies.js';

export const APP_SETTINGS_FORM_KEY = 'settings-app';
export const PREFERENCES_FORM_KEY = 'settings-preferences';

type FormErrors = Record<string, string>;

/** One form's state as the page shows it: raw text as typed, versions as loaded. */
interface FormState {
  readonly input: Readonly<Record<string, string>>;
  readonly versions: Readonly<Record<string, number>>;
  readonly errors: FormErrors;
  readonly notice: string | null;
}

function stringFields(body: unknown, names: readonly string[]): Record<string, string> {
  const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  return Object.fromEntries(
    names.map((name) => [name, typeof fields[name] === 'string' ? fields[name] : '']),
  );
}

function readVersions(body: unknown, names: readonly string[]): Record<string, number> | undefined {
  const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const versions: Record<string, number> = {};
  for (const name of names) {
    const version = parseVersion(fields[`version_${name}`]);
    if (version === undefined) return undefined;
    versions[name] = version;
  }
  return versions;
}

function fieldErrors(error: z.ZodError): FormErrors {
  const errors: FormErrors = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? 'form');
    errors[field] ??= issue.message;
  }
  return errors;
}

const asText = (values: Readonly<Record<string, unknown>>): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([key, value]) => [key, String(value)]));

const APP_FIELDS = [
  'companyName',
  'currency',
  'lowStockThreshold',
] as const satisfies readonly (keyof AppSettings)[];
const APP_FIELD_LABELS: Record<keyof AppSettings, string> = {
  companyName: 'company name',
  currency: 'currency',
  lowStockThreshold: 'low-stock threshold',
};
const PREFERENCE_FIELDS = ['pageSize', 'theme'] as const satisfies readonly (keyof UserPreferences)[];

export function registerSettingsRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { persistence } = dependencies;

  const userIdOf = signedInUserId;

  const renderSettings = async (
    request: FastifyRequest,
    reply: FastifyReply,
    overrides: { app?: FormState; preferences?: FormState; status?: number },
  ) => {
    const storedApp = await readAppSettings(persistence);
    const storedPreferences = await readUserPreferences(persistence, userIdOf(request));
    const appForm: FormState = overrides.app ?? {
      input: asText(storedApp.values),
      versions: storedApp.versions,
      errors: {},
      notice: null,
    };
    const preferencesForm: FormState = overrides.preferences ?? {
      input: asText(storedPreferences.values),
      versions: storedPreferences.versions,
      errors: {},
      notice: null,
    };
    return renderPage(
      persistence,
      request,
      reply,
      'settings',
      {
        appForm,
        preferencesForm,
        appFormKey: APP_SETTINGS_FORM_KEY,
        preferencesFormKey: PREFERENCES_FORM_KEY,
        currencies: CURRENCIES,
        pageSizes: PAGE_SIZES,
        themes: THEMES,
      },
      { title: 'Settings', nav: 'settings', status: overrides.status },
    );
  };

  app.get('/settings', { preHandler: app.requireUser }, (request, reply) =>
    renderSettings(request, reply, {}),
  );

  app.post('/settings/app', { preHandler: [app.requireUser, app.csrfProtection] }, async (request, reply) => {
    // The company settings as a whole (each is asked again as it is saved).
    await askBeforeWriting(persistence, {
      action: 'update',
      model: 'Setting',
      objectId: undefined,
      record: undefined,
    });
    const input = stringFields(request.body, APP_FIELDS);
    const versions = readVersions(request.body, APP_FIELDS);
    const parsed = appSettingsSchema.safeParse(input);
    if (!parsed.success || !versions) {
      const stored = await readAppSettings(persistence);
      const errors = parsed.success
        ? { form: 'The form did not say which versions it was loaded from.' }
        : fieldErrors(parsed.error);
      return renderSettings(request, reply, {
        app: { input, versions: versions ?? stored.versions, errors, notice: null },
        status: 422,
      });
    }
    try {
      const changed = await saveAppSettings(
        persistence,
        parsed.data,
        versions as Record<keyof AppSettings, number>,
      );
      setFlash(request, {
        message: changed > 0 ? 'Company settings saved.' : 'Nothing changed.',
        clearKeys: [APP_SETTINGS_FORM_KEY],
      });
      return reply.redirect('/settings', 303);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const stored = await readAppSettings(persistence);
      return renderSettings(request, reply, {
        app: {
          input,
          versions: stored.versions,
          errors: {},
          notice: `Someone else changed these settings while you were editing. They now read: ${APP_FIELDS.map((field) => `${APP_FIELD_LABELS[field]} "${String(stored.values[field])}"`).join(', ')}. Your values are kept below; save again to replace theirs.`,
        },
        status: 409,
      });
    }
  });

  app.post(
    '/settings/preferences',
    { preHandler: [app.requireUser, app.csrfProtection] },
    async (request, reply) => {
      const userId = userIdOf(request);
      const input = stringFields(request.body, PREFERENCE_FIELDS);
      const versions = readVersions(request.body, PREFERENCE_FIELDS);
      const parsed = userPreferencesSchema.safeParse(input);
      if (!parsed.success || !versions) {
        const stored = await readUserPreferences(persistence, userId);
        const errors = parsed.success
          ? { form: 'The form did not say which versions it was loaded from.' }
          : fieldErrors(parsed.error);
        return renderSettings(request, reply, {
          preferences: { input, versions: versions ?? stored.versions, errors, notice: null },
          status: 422,
        });
      }
      try {
        const changed = await saveUserPreferences(
          persistence,
          userId,
          parsed.data,
          versions as Record<keyof UserPreferences, number>,
        );
        setFlash(request, {
          message: changed > 0 ? 'Your preferences are saved.' : 'Nothing changed.',
          clearKeys: [PREFERENCES_FORM_KEY],
        });
        return reply.redirect('/settings', 303);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        const stored = await readUserPreferences(persistence, userId);
        return renderSettings(request, reply, {
          preferences: {
            input,
            versions: stored.versions,
            errors: {},
            notice:
              'Your preferences were changed elsewhere (another tab or device) while you edited. Your values are kept below; save again to use them.',
          },
          status: 409,
        });
      }
    },
  );
}
