/**
 * The Block Kit limits Slack enforces on chat.postMessage/chat.update and incoming webhooks,
 * answered the way Slack does: `invalid_blocks` plus `[ERROR] … [json-pointer:…]` messages.
 */

export interface SlackBlocksError {
  error: 'invalid_blocks' | 'invalid_blocks_format';
  messages: string[];
}

const MAX_BLOCKS = 50;
const SECTION_TEXT_MAX = 3000;
const SECTION_FIELDS_MAX = 10;
const FIELD_TEXT_MAX = 2000;
const HEADER_TEXT_MAX = 150;
const CONTEXT_ELEMENTS_MAX = 10;
const BLOCK_ID_MAX = 255;
const BLOCK_TYPES = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'video',
  'table',
  'context_actions',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function textOf(v: unknown): string | undefined {
  return isObj(v) && typeof v.text === 'string' ? v.text : undefined;
}

/** Parse `blocks` (JSON text from a form, or a value from a JSON body). */
export function parseBlocks(value: unknown): { blocks: unknown[] | undefined } | SlackBlocksError {
  if (value === undefined || value === null || value === '') return { blocks: undefined };
  let blocks = value;
  if (typeof value === 'string') {
    try {
      blocks = JSON.parse(value);
    } catch {
      return { error: 'invalid_blocks_format', messages: ['[ERROR] expected JSON array [json-pointer:/blocks]'] };
    }
  }
  if (!Array.isArray(blocks)) return { error: 'invalid_blocks_format', messages: ['[ERROR] must be an array [json-pointer:/blocks]'] };
  const messages = validateBlocks(blocks);
  return messages.length > 0 ? { error: 'invalid_blocks', messages } : { blocks };
}

/**
 * Check `blocks` (an array, or its JSON text) against Slack's Block Kit limits; `undefined`
 * when Slack would accept it, else the `error` and `response_metadata.messages` it answers.
 */
export function validateSlackBlocks(blocks: unknown): SlackBlocksError | undefined {
  const parsed = parseBlocks(blocks);
  return 'error' in parsed ? parsed : undefined;
}

function validateBlocks(blocks: unknown[]): string[] {
  const errors: string[] = [];
  if (blocks.length > MAX_BLOCKS) errors.push(`[ERROR] no more than ${MAX_BLOCKS} items allowed [json-pointer:/blocks]`);
  blocks.forEach((block, i) => {
    const at = `/blocks/${i}`;
    if (!isObj(block) || typeof block.type !== 'string') {
      errors.push(`[ERROR] missing required field: type [json-pointer:${at}]`);
      return;
    }
    if (!BLOCK_TYPES.has(block.type)) {
      errors.push(`[ERROR] unsupported type: ${block.type} [json-pointer:${at}/type]`);
      return;
    }
    if (typeof block.block_id === 'string' && block.block_id.length > BLOCK_ID_MAX) {
      errors.push(`[ERROR] must be less than ${BLOCK_ID_MAX + 1} characters [json-pointer:${at}/block_id]`);
    }
    if (block.type === 'section') {
      const text = textOf(block.text);
      const fields = block.fields;
      if (text === undefined && !Array.isArray(fields)) errors.push(`[ERROR] must provide either text or fields [json-pointer:${at}]`);
      if (text !== undefined && text.length > SECTION_TEXT_MAX) {
        errors.push(`[ERROR] must be less than ${SECTION_TEXT_MAX + 1} characters [json-pointer:${at}/text/text]`);
      }
      if (Array.isArray(fields)) {
        if (fields.length > SECTION_FIELDS_MAX)
          errors.push(`[ERROR] no more than ${SECTION_FIELDS_MAX} items allowed [json-pointer:${at}/fields]`);
        fields.forEach((field, j) => {
          const t = textOf(field);
          if (t !== undefined && t.length > FIELD_TEXT_MAX) {
            errors.push(`[ERROR] must be less than ${FIELD_TEXT_MAX + 1} characters [json-pointer:${at}/fields/${j}/text]`);
          }
        });
      }
    } else if (block.type === 'header') {
      const text = textOf(block.text);
      if (text === undefined) errors.push(`[ERROR] missing required field: text [json-pointer:${at}]`);
      else if (text.length > HEADER_TEXT_MAX)
        errors.push(`[ERROR] must be less than ${HEADER_TEXT_MAX + 1} characters [json-pointer:${at}/text/text]`);
      if (isObj(block.text) && block.text.type !== 'plain_text')
        errors.push(`[ERROR] must be a plain_text object [json-pointer:${at}/text]`);
    } else if (block.type === 'context') {
      if (!Array.isArray(block.elements)) errors.push(`[ERROR] missing required field: elements [json-pointer:${at}]`);
      else if (block.elements.length > CONTEXT_ELEMENTS_MAX) {
        errors.push(`[ERROR] no more than ${CONTEXT_ELEMENTS_MAX} items allowed [json-pointer:${at}/elements]`);
      }
    } else if (block.type === 'image') {
      if (typeof block.alt_text !== 'string') errors.push(`[ERROR] missing required field: alt_text [json-pointer:${at}]`);
      if (typeof block.image_url !== 'string' && !isObj(block.slack_file))
        errors.push(`[ERROR] missing required field: image_url [json-pointer:${at}]`);
    }
  });
  return errors;
}
