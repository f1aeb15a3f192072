// A player following our wrappers: @dailymotion/vast-client's VASTClient resolves each VASTAdTagURI over
// HTTP (fetch, with its wrapper limit), as a player does. Reads a JSON array of XML documents on stdin and
// prints, for each, the ads it ended with and the VAST error codes it reported on the way.
'use strict';

const { DOMParser } = require('@xmldom/xmldom');
const { VASTClient } = require('@dailymotion/vast-client');

global.DOMParser = DOMParser; // the client parses what it fetches with the global DOMParser

async function follow(xml) {
  const client = new VASTClient();
  const errors = [];
  client.getParser().on('VAST-error', (event) => errors.push(String(event.ERRORCODE)));
  try {
    const dom = new DOMParser().parseFromString(xml, 'text/xml');
    const response = await client.parseVAST(dom, { resolveAll: true, timeout: 3000, wrapperLimit: 5 });
    return {
      errors,
      ads: response.ads.map((ad) => {
        const linear = ad.creatives.find((creative) => creative.type === 'linear') || {};
        return {
          id: ad.id,
          impressions: ad.impressionURLTemplates.map((template) => template.url),
          errors: ad.errorURLTemplates,
          duration: linear.duration,
          mediaFiles: (linear.mediaFiles || []).map((media) => media.fileURL),
          tracking: linear.trackingEvents || {},
        };
      }),
    };
  } catch (error) {
    return { errors, error: String(error) };
  }
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
});
process.stdin.on('end', async () => {
  const views = [];
  for (const xml of JSON.parse(input)) {
    views.push(await follow(xml));
  }
  process.stdout.write(JSON.stringify(views));
});
