// What a player's VAST parser sees of our documents: @dailymotion/vast-client on a DOM from @xmldom/xmldom
// (pinned in package.json, installed by `make assets`). Reads a JSON array of XML documents on stdin and
// prints a JSON array with, for each, its ads as the parser read them (or the error it raised).
'use strict';

const { DOMParser } = require('@xmldom/xmldom');
const { VASTParser } = require('@dailymotion/vast-client');

async function parse(xml) {
  try {
    const dom = new DOMParser().parseFromString(xml, 'text/xml');
    const response = await new VASTParser().parseVAST(dom);
    return {
      version: response.version,
      ads: response.ads.map((ad) => {
        const linear = ad.creatives.find((creative) => creative.type === 'linear') || {};
        return {
          id: ad.id,
          sequence: ad.sequence,
          adServingId: ad.adServingId,
          impressions: ad.impressionURLTemplates.map((template) => template.url),
          errors: ad.errorURLTemplates,
          duration: linear.duration,
          mediaFiles: (linear.mediaFiles || []).map((media) => media.fileURL),
          tracking: linear.trackingEvents || {},
          clickTracking: (linear.videoClickTrackingURLTemplates || []).map((template) => template.url),
          verifications: (ad.adVerifications || []).map((verification) => ({
            vendor: verification.vendor,
            resource: verification.resource,
            apiFramework: verification.apiFramework,
            parameters: verification.parameters,
            trackingEvents: verification.trackingEvents,
          })),
        };
      }),
    };
  } catch (error) {
    return { error: String(error) };
  }
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
});
process.stdin.on('end', async () => {
  const documents = JSON.parse(input);
  const views = [];
  for (const xml of documents) {
    views.push(await parse(xml));
  }
  process.stdout.write(JSON.stringify(views));
});
