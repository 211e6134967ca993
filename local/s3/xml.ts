/**
 * The little XML the S3 REST API needs: escaping for the documents the emulator writes, and a
 * small parser for the request bodies it reads (`<Delete>`, `<VersioningConfiguration>`,
 * `<CreateBucketConfiguration>`). Attributes, comments, processing instructions and DOCTYPEs
 * are skipped; entities are the five predefined ones and numeric character references.
 */

/** Thrown by {@link parseXml} for a body that is not well-formed XML. */
export class MalformedXmlError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MalformedXmlError';
  }
}

/** One parsed element: its local name (namespace prefix dropped), child elements and text. */
export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

/** The XML declaration every S3 response document starts with. */
export const xmlDeclaration = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** The namespace of S3's response documents. */
export const s3Namespace = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * Escapes text for element content or attribute values. Control characters (CR, LF, TAB and
 * others) become numeric references, as S3 writes them, so keys survive a round trip.
 */
export function escapeXml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be escaped
  return text.replace(/[&<>"'\u0000-\u001f\u007f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#${c.charCodeAt(0)};`;
    }
  });
}

/** `<name>escaped value</name>`, or nothing when `value` is `undefined`. */
export function xmlElement(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (whole, entity: string) => {
    switch (entity) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const code = entity.startsWith('#x')
          ? Number.parseInt(entity.slice(2), 16)
          : Number.parseInt(entity.slice(1), 10);
        if (!Number.isFinite(code) || code > 0x10ffff) return whole;
        return String.fromCodePoint(code);
      }
    }
  });
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

/**
 * Parses an XML document into its root element.
 *
 * @throws MalformedXmlError when tags do not nest, the document is empty or has several roots
 */
export function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    const textEnd = lt === -1 ? source.length : lt;
    if (textEnd > i) {
      const text = source.slice(i, textEnd);
      const top = stack.at(-1);
      if (top !== undefined) top.text += decodeEntities(text);
      else if (text.trim() !== '') throw new MalformedXmlError('text outside the root element');
    }
    if (lt === -1) break;
    if (source.startsWith('<?', lt)) {
      const end = source.indexOf('?>', lt);
      if (end === -1) throw new MalformedXmlError('unterminated processing instruction');
      i = end + 2;
    } else if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt);
      if (end === -1) throw new MalformedXmlError('unterminated comment');
      i = end + 3;
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt);
      if (end === -1) throw new MalformedXmlError('unterminated CDATA section');
      const top = stack.at(-1);
      if (top === undefined) throw new MalformedXmlError('CDATA outside the root element');
      top.text += source.slice(lt + 9, end);
      i = end + 3;
    } else if (source.startsWith('<!', lt)) {
      const end = source.indexOf('>', lt);
      if (end === -1) throw new MalformedXmlError('unterminated declaration');
      i = end + 1;
    } else {
      const end = source.indexOf('>', lt);
      if (end === -1) throw new MalformedXmlError('unterminated tag');
      const tag = source.slice(lt + 1, end);
      if (tag.startsWith('/')) {
        const name = localName(tag.slice(1).trim());
        const open = stack.pop();
        if (open === undefined || open.name !== name) {
          throw new MalformedXmlError(`unexpected closing tag </${name}>`);
        }
      } else {
        const selfClosing = tag.endsWith('/');
        const match = /^([A-Za-z_][\w.:-]*)/.exec(tag);
        if (match?.[1] === undefined) throw new MalformedXmlError(`bad tag <${tag}>`);
        const element: XmlElement = { name: localName(match[1]), children: [], text: '' };
        const parent = stack.at(-1);
        if (parent !== undefined) parent.children.push(element);
        else if (root === undefined) root = element;
        else throw new MalformedXmlError('more than one root element');
        if (!selfClosing) stack.push(element);
      }
      i = end + 1;
    }
  }
  if (stack.length > 0) throw new MalformedXmlError(`unclosed element <${stack.at(-1)?.name}>`);
  if (root === undefined) throw new MalformedXmlError('no root element');
  return root;
}

/** The first child element called `name`, if any. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}
