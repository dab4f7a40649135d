/**
 * Products: the searchable list, new and edit forms saved through autoSave with the version the
 * form was loaded at, the merge when someone saved first (applied at once without a conflict, else
 * the merge page with a choice for each conflicting field), and the history with revert.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  type StaleMerge,
  ValidationError,
} from 'steadfast/persistence';
import { type ConflictChoice, resolveConflicts } from 'steadfast/protocol';
import { resolveActorNames } from '../actor-names.js';
import {
  EMPTY_PRODUCT_INPUT,
  type FieldErrors,
  isProductField,
  PRODUCT_FIELDS,
  type ProductFormInput,
  type ProductValues,
  parseRecordId,
  parseVersion,
  productInputFromRecord,
  readProductInput,
  validateProductInput,
} from '../product-form.js';
import { actorsOf, mergedNotice, mergeView, readChoices } from '../product-merge.js';
import { findProduct, listProducts, productFormKey } from '../products.js';
import { renderPage, setFlash } from '../render.js';
import { askBeforeWriting, permissionsOf, REFUSALS } from '../roles.js';
import type { ProductRow } from '../schema.js';
import { signedInUserId } from '../session-user.js';
import { readUserPreferences } from '../settings.js';
import { fieldLabel } from '../view-helpers.js';
import type { RouteDependencies } from './route-dependencies.js';

const HISTORY_PAGE_SIZE = 20;
/** Saves of a merge tried before showing the page: each retry means someone saved again meanwhile. */
const MERGE_ATTEMPTS = 3;
const MAX_SEARCH_LENGTH = 100;

interface ProductParams {
  id: string;
}
interface RevertParams extends ProductParams {
  version: string;
}

function queryText(query: unknown, name: string): string {
  const value = query && typeof query === 'object' ? (query as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

export function registerProductRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { persistence } = dependencies;
  const signedIn = { preHandler: app.requireUser };
  const signedInWrite = { preHandler: [app.requireUser, app.csrfProtection] };

  const currentUserId = signedInUserId;

  /**
   * The forms that only lead to a refused save are not offered (403 through the error page). The
   * save itself is refused by the persistence layer's rule whatever asks for it (roles.ts).
   */
  const requireCan = async (
    request: FastifyRequest,
    permission: 'editProducts' | 'revert',
    objectId?: string,
  ): Promise<void> => {
    const can = await permissionsOf(persistence, currentUserId(request));
    if (can[permission]) return;
    if (permission === 'revert') throw new ForbiddenError('revert', 'Product', objectId, REFUSALS.revert);
    throw new ForbiddenError(objectId ? 'update' : 'create', 'Product', objectId, REFUSALS.products);
  };

  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    renderPage(
      persistence,
      request,
      reply,
      'not-found',
      { message: 'There is no such product. It may have been deleted, or the link is wrong.' },
      { title: 'Not found', status: 404, nav: 'products' },
    );

  const renderForm = (
    request: FastifyRequest,
    reply: FastifyReply,
    form: {
      product: ProductRow | null;
      input: ProductFormInput;
      version: number | null;
      errors: FieldErrors;
      status?: number;
    },
  ) =>
    renderPage(
      persistence,
      request,
      reply,
      'product-form',
      {
        product: form.product,
        input: form.input,
        version: form.version,
        errors: form.errors,
        formKey: productFormKey(form.product ? form.product.id : 'new'),
        action: form.product ? `/products/${form.product.id}` : '/products',
      },
      {
        title: form.product ? `Edit ${form.product.name}` : 'New product',
        nav: 'products',
        status: form.status,
      },
    );

  app.get('/products', signedIn, async (request, reply) => {
    const search = queryText(request.query, 'q').trim().slice(0, MAX_SEARCH_LENGTH);
    const page = Number.parseInt(queryText(request.query, 'page'), 10);
    const { values: preferences } = await readUserPreferences(persistence, currentUserId(request));
    const result = await listProducts(persistence, {
      search,
      page: Number.isFinite(page) ? page : 1,
      pageSize: preferences.pageSize,
    });
    return renderPage(
      persistence,
      request,
      reply,
      'products-list',
      { search, ...result },
      { title: 'Products', nav: 'products' },
    );
  });

  app.get('/products/new', signedIn, async (request, reply) => {
    await requireCan(request, 'editProducts');
    return renderForm(request, reply, {
      product: null,
      input: EMPTY_PRODUCT_INPUT,
      version: null,
      errors: {},
    });
  });

  app.post('/products', signedInWrite, async (request, reply) => {
    await askBeforeWriting(persistence, {
      action: 'create',
      model: 'Product',
      objectId: undefined,
      record: undefined,
    });
    const input = readProductInput(request.body);
    const validation = validateProductInput(input);
    if (!validation.ok) {
      return renderForm(request, reply, {
        product: null,
        input,
        version: null,
        errors: validation.errors,
        status: 422,
      });
    }
    try {
      const { record } = await persistence.autoSave('Product', { ...validation.values });
      const id = Number(record.id);
      setFlash(request, { message: `Created ${String(record.name)}.`, clearKeys: [productFormKey('new')] });
      return reply.redirect(`/products/${id}/history`, 303);
    } catch (error) {
      if (error instanceof ValidationError) {
        return renderForm(request, reply, {
          product: null,
          input,
          version: null,
          errors: validationErrorToFields(error),
          status: 422,
        });
      }
      throw error;
    }
  });

  app.get<{ Params: ProductParams }>('/products/:id/edit', signedIn, async (request, reply) => {
    const id = parseRecordId(request.params.id);
    const product = id === undefined ? undefined : await findProduct(persistence, id);
    if (!product) return notFound(request, reply);
    await requireCan(request, 'editProducts', String(product.id));
    return renderForm(request, reply, {
      product,
      input: productInputFromRecord(product),
      version: Number(product.version),
      errors: {},
    });
  });

  app.post<{ Params: ProductParams }>('/products/:id', signedInWrite, async (request, reply) => {
    const id = parseRecordId(request.params.id);
    const product = id === undefined ? undefined : await findProduct(persistence, id);
    if (id === undefined || !product) return notFound(request, reply);
    await askBeforeWriting(persistence, {
      action: 'update',
      model: 'Product',
      objectId: String(id),
      record: product,
    });
    const input = readProductInput(request.body);
    const loadedVersion = parseVersion((request.body as Record<string, unknown> | undefined)?.version);
    if (loadedVersion === undefined) {
      // Without the version the form was loaded at, a save could silently overwrite a newer one.
      return renderForm(request, reply, {
        product,
        input,
        version: Number(product.version),
        errors: {
          form: 'The form did not say which version it was loaded from. Check the values and save again.',
        },
        status: 400,
      });
    }
    const validation = validateProductInput(input);
    if (!validation.ok) {
      return renderForm(request, reply, {
        product,
        input,
        version: loadedVersion,
        errors: validation.errors,
        status: 422,
      });
    }
    try {
      const result = await persistence.autoSave('Product', {
        id,
        version: loadedVersion,
        ...validation.values,
      });
      setFlash(request, {
        message: result.changed
          ? `Saved ${String(result.record.name)} (version ${result.version}).`
          : 'Nothing changed.',
        clearKeys: [productFormKey(id)],
      });
      return reply.redirect(`/products/${id}/history`, 303);
    } catch (error) {
      if (error instanceof ConflictError) {
        if (error.currentVersion === undefined) return renderDeleted(request, reply);
        return mergeAndSave(request, reply, { id, product, input, values: validation.values, loadedVersion });
      }
      if (error instanceof ValidationError) {
        return renderForm(request, reply, {
          product,
          input,
          version: loadedVersion,
          errors: validationErrorToFields(error),
          status: 422,
        });
      }
      throw error;
    }
  });

  const renderDeleted = (request: FastifyRequest, reply: FastifyReply) =>
    renderPage(
      persistence,
      request,
      reply,
      'not-found',
      { message: 'Someone deleted this product while you were editing it. Your changes were not saved.' },
      { title: 'Product deleted', status: 409, nav: 'products' },
    );

  interface StaleSubmit {
    readonly id: number;
    readonly product: ProductRow;
    /** The user's form as submitted at `loadedVersion`, kept whole in the merge page's form. */
    readonly input: ProductFormInput;
    readonly values: ProductValues;
    readonly loadedVersion: number;
    /** From the merge page: the choices made, and the version the page showed as current. */
    readonly answer?: { readonly body: unknown; readonly shownVersion: number };
  }

  /**
   * Someone saved since the form was loaded: the submit is merged with their save field by field
   * (persistence.mergeStale). Without a conflict, or once the user chose for each, the merge is
   * saved at the current version; otherwise the merge page asks. If someone saves yet again
   * meanwhile, the merge is made again against their save: never a silent overwrite.
   */
  async function mergeAndSave(request: FastifyRequest, reply: FastifyReply, submit: StaleSubmit) {
    const { id, input, values, loadedVersion, answer } = submit;
    for (let attempt = 1; ; attempt += 1) {
      let merge: StaleMerge;
      try {
        merge = await persistence.mergeStale('Product', id, { ...values }, loadedVersion);
      } catch (error) {
        if (error instanceof NotFoundError) return renderDeleted(request, reply);
        if (error instanceof ValidationError) {
          return renderForm(request, reply, {
            product: submit.product,
            input,
            version: loadedVersion,
            errors: validationErrorToFields(error),
            status: 422,
          });
        }
        throw error;
      }
      const names = await resolveActorNames(persistence, actorsOf(merge));
      // Choices made on a page showing an older current version were made against other values.
      const movedOn = answer !== undefined && answer.shownVersion !== merge.currentVersion;
      const choices = answer && !movedOn ? readChoices(answer.body, merge) : {};
      const open = merge.conflicts.filter((conflict) => choices[conflict.field] === undefined);
      if (open.length > 0 || attempt > MERGE_ATTEMPTS) {
        return renderMerge(request, reply, {
          merge,
          names,
          choices,
          input,
          movedOn,
          missing: answer && !movedOn ? open.map((conflict) => conflict.field) : [],
        });
      }
      try {
        const resolved = resolveConflicts(merge, choices as Record<string, ConflictChoice>);
        const result = await persistence.autoSave('Product', {
          ...resolved,
          id,
          version: merge.currentVersion,
        });
        setFlash(request, { message: mergedNotice(merge, names, result), clearKeys: [productFormKey(id)] });
        return reply.redirect(`/products/${id}/history`, 303);
      } catch (error) {
        if (error instanceof ConflictError && error.currentVersion !== undefined) continue;
        if (error instanceof ConflictError) return renderDeleted(request, reply);
        if (error instanceof ValidationError) {
          return renderForm(request, reply, {
            product: submit.product,
            input,
            version: loadedVersion,
            errors: validationErrorToFields(error),
            status: 422,
          });
        }
        throw error;
      }
    }
  }

  /**
   * The merge page: the product as merged, each field saying whose value it holds (who saved it,
   * when), and for each field both changed, its three values to choose from. The user's form rides
   * along in hidden fields, so the merge is made again on submit against whatever is current then.
   */
  function renderMerge(
    request: FastifyRequest,
    reply: FastifyReply,
    page: {
      merge: StaleMerge;
      names: Awaited<ReturnType<typeof resolveActorNames>>;
      choices: Partial<Record<string, ConflictChoice>>;
      input: ProductFormInput;
      movedOn: boolean;
      missing: readonly string[];
    },
  ) {
    const { merge } = page;
    const id = merge.objectId;
    const name = typeof merge.current.name === 'string' ? merge.current.name : `product ${id}`;
    return renderPage(
      persistence,
      request,
      reply,
      'product-conflict',
      {
        ...mergeView(merge, page.names, page.choices),
        productId: id,
        productName: name,
        yours: page.input,
        fields: PRODUCT_FIELDS,
        movedOn: page.movedOn,
        missing: page.missing,
        action: `/products/${id}/merge`,
      },
      {
        title: 'Someone else saved this product',
        status: page.missing.length > 0 ? 422 : 409,
        nav: 'products',
      },
    );
  }

  /** The merge page's form: the user's submit again, with a choice for each conflicting field. */
  app.post<{ Params: ProductParams }>('/products/:id/merge', signedInWrite, async (request, reply) => {
    const id = parseRecordId(request.params.id);
    const product = id === undefined ? undefined : await findProduct(persistence, id);
    if (id === undefined || !product) return notFound(request, reply);
    await askBeforeWriting(persistence, {
      action: 'update',
      model: 'Product',
      objectId: String(id),
      record: product,
    });
    const body = request.body as Record<string, unknown> | undefined;
    const input = readProductInput(body);
    const loadedVersion = parseVersion(body?.baseVersion);
    const shownVersion = parseVersion(body?.currentVersion);
    if (loadedVersion === undefined || shownVersion === undefined) {
      return renderForm(request, reply, {
        product,
        input,
        version: Number(product.version),
        errors: {
          form: 'The form did not say which versions it merged. Check the values and save again.',
        },
        status: 400,
      });
    }
    const validation = validateProductInput(input);
    if (!validation.ok) {
      return renderForm(request, reply, {
        product,
        input,
        version: loadedVersion,
        errors: validation.errors,
        status: 422,
      });
    }
    return mergeAndSave(request, reply, {
      id,
      product,
      input,
      values: validation.values,
      loadedVersion,
      answer: { body, shownVersion },
    });
  });

  app.get<{ Params: ProductParams }>('/products/:id/history', signedIn, async (request, reply) => {
    const id = parseRecordId(request.params.id);
    const product = id === undefined ? undefined : await findProduct(persistence, id);
    if (id === undefined || !product) return notFound(request, reply);
    const cursor = queryText(request.query, 'cursor');
    const { entries, nextCursor } = await persistence.activityLog.query({
      model: 'Product',
      objectId: String(id),
      limit: HISTORY_PAGE_SIZE,
      cursor: /^[1-9]\d{0,15}$/.test(cursor) ? cursor : undefined,
    });
    const names = await resolveActorNames(
      persistence,
      entries.map((entry) => entry.actor),
    );
    return renderPage(
      persistence,
      request,
      reply,
      'product-history',
      {
        product,
        currentVersion: Number(product.version),
        entries: entries.map((entry) => ({ ...entry, actorName: names.get(entry.actor) ?? entry.actor })),
        nextCursor,
        firstPage: cursor === '',
      },
      { title: `History of ${product.name}`, nav: 'products' },
    );
  });

  /** Step one of a revert: what would change, and a button to confirm. Changes nothing. */
  const renderRevertConfirmation = async (
    request: FastifyRequest<{ Params: RevertParams }>,
    reply: FastifyReply,
    notice: string | null,
    status = 200,
  ) => {
    const id = parseRecordId(request.params.id);
    const version = parseVersion(request.params.version);
    const product = id === undefined ? undefined : await findProduct(persistence, id);
    if (id === undefined || version === undefined || !product) return notFound(request, reply);
    const entry = await persistence.activityLog.entryAtVersion('Product', String(id), version);
    if (!entry || entry.action === 'delete') return notFound(request, reply);
    const current = productInputFromRecord(product);
    const target = productInputFromRecord(entry.snapshot as unknown as ProductRow);
    const changes = PRODUCT_FIELDS.filter((field) => String(current[field]) !== String(target[field])).map(
      (field) => ({ field, before: current[field], after: target[field] }),
    );
    return renderPage(
      persistence,
      request,
      reply,
      'product-revert',
      { product, targetVersion: version, currentVersion: Number(product.version), changes, notice },
      { title: `Revert ${product.name} to version ${version}`, nav: 'products', status },
    );
  };

  app.get<{ Params: RevertParams }>('/products/:id/revert/:version', signedIn, async (request, reply) => {
    await requireCan(request, 'revert', request.params.id);
    return renderRevertConfirmation(request, reply, null);
  });

  app.post<{ Params: RevertParams }>(
    '/products/:id/revert/:version',
    signedInWrite,
    async (request, reply) => {
      const id = parseRecordId(request.params.id);
      const version = parseVersion(request.params.version);
      const expectedVersion = parseVersion(
        (request.body as Record<string, unknown> | undefined)?.expectedVersion,
      );
      if (id === undefined || version === undefined) return notFound(request, reply);
      if (expectedVersion === undefined) {
        return renderRevertConfirmation(request, reply, 'Please confirm the revert on this page.', 400);
      }
      try {
        const result = await persistence.revert('Product', id, version, { expectedVersion });
        setFlash(request, {
          message: `Reverted to the values of version ${version}; the product is now at version ${result.version}.`,
          clearKeys: [],
        });
        return reply.redirect(`/products/${id}/history`, 303);
      } catch (error) {
        if (error instanceof ConflictError) {
          return renderRevertConfirmation(
            request,
            reply,
            'Someone changed this product after you opened this page. Review the changes below and confirm again.',
            409,
          );
        }
        if (error instanceof NotFoundError) return notFound(request, reply);
        throw error;
      }
    },
  );
}

function validationErrorToFields(error: ValidationError): FieldErrors {
  const field = error.field;
  if (field && isProductField(field)) {
    // The manager's messages read "Product: sku is already taken" or "sku: is required"; the form
    // shows them beside the field, so the field names itself in words.
    const detail = error.message.replace(/^Product: /, '').replace(new RegExp(`^${field}:? `), '');
    return { [field]: `${fieldLabel(field)} ${detail}` };
  }
  return { form: error.message };
}
