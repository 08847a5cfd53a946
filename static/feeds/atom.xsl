<?xml version="1.0" encoding="utf-8"?>
<!-- Renders the tracker's Atom feeds as a readable page when a browser opens one
     (governance/feeds.py names this file in an xml-stylesheet instruction; feed readers
     ignore it and read the XML). XSLT 1.0, which is what browsers run. No script and no
     inline style: the page keeps the feed's CSP, so it is styled by the site's own
     stylesheets. An entry's summary is HTML escaped inside the XML; it is shown as plain
     text (tags dropped, the few entities Django escapes put back) rather than parsed,
     since XSLT 1.0 cannot parse HTML and disable-output-escaping is not portable. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="utf-8" indent="yes"
      doctype-system="about:legacy-compat"/>

  <xsl:template match="/atom:feed">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="atom:title"/> (Atom feed)</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml"/>
        <link rel="stylesheet" href="/static/css/tracker.css"/>
        <link rel="stylesheet" href="/static/feeds/feed.css"/>
      </head>
      <body>
        <header class="site-header">
          <div class="wrap">
            <a class="brand" href="/"><span class="brand-mark" aria-hidden="true">◎</span> AI Governance Tracker</a>
          </div>
        </header>
        <main id="main" class="wrap feed-page">
          <p class="feed-notice" role="note">
            This is an Atom feed. Subscribe by copying its address into your feed reader:
            <code class="feed-url"><xsl:value-of select="atom:link[@rel='self']/@href"/></code>
          </p>
          <h1 class="feed-title"><xsl:value-of select="atom:title"/></h1>
          <xsl:if test="atom:subtitle">
            <p class="lede"><xsl:value-of select="atom:subtitle"/></p>
          </xsl:if>
          <p class="muted">
            <a href="{atom:link[@rel='alternate']/@href}">Open the page this feed follows</a>
            <xsl:text> · </xsl:text>
            <xsl:value-of select="count(atom:entry)"/>
            <xsl:text> entries, newest first · updated </xsl:text>
            <time datetime="{atom:updated}"><xsl:value-of select="substring(atom:updated, 1, 10)"/></time>
          </p>
          <xsl:choose>
            <xsl:when test="atom:entry">
              <ol class="feed-entries">
                <xsl:apply-templates select="atom:entry"/>
              </ol>
            </xsl:when>
            <xsl:otherwise>
              <p>No entries yet.</p>
            </xsl:otherwise>
          </xsl:choose>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li class="feed-entry panel">
      <h2 class="feed-entry-title">
        <a href="{atom:link[not(@rel) or @rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a>
      </h2>
      <p class="muted">
        <time datetime="{atom:updated}"><xsl:value-of select="substring(atom:updated, 1, 10)"/></time>
      </p>
      <xsl:if test="normalize-space(atom:summary)">
        <p class="feed-summary">
          <xsl:call-template name="unescape">
            <xsl:with-param name="text">
              <xsl:call-template name="strip-tags">
                <xsl:with-param name="html" select="atom:summary"/>
              </xsl:call-template>
            </xsl:with-param>
          </xsl:call-template>
        </p>
      </xsl:if>
    </li>
  </xsl:template>

  <!-- The text of an HTML fragment: everything outside <...>, a space for each tag. -->
  <xsl:template name="strip-tags">
    <xsl:param name="html"/>
    <xsl:choose>
      <xsl:when test="contains($html, '&lt;') and contains(substring-after($html, '&lt;'), '&gt;')">
        <xsl:value-of select="substring-before($html, '&lt;')"/>
        <xsl:text> </xsl:text>
        <xsl:call-template name="strip-tags">
          <xsl:with-param name="html" select="substring-after(substring-after($html, '&lt;'), '&gt;')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$html"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The entities django.utils.html.escape writes, put back (&amp; last). -->
  <xsl:template name="unescape">
    <xsl:param name="text"/>
    <xsl:call-template name="replace">
      <xsl:with-param name="text">
        <xsl:call-template name="replace">
          <xsl:with-param name="text">
            <xsl:call-template name="replace">
              <xsl:with-param name="text">
                <xsl:call-template name="replace">
                  <xsl:with-param name="text">
                    <xsl:call-template name="replace">
                      <xsl:with-param name="text" select="normalize-space($text)"/>
                      <xsl:with-param name="from" select="'&amp;lt;'"/>
                      <xsl:with-param name="to" select="'&lt;'"/>
                    </xsl:call-template>
                  </xsl:with-param>
                  <xsl:with-param name="from" select="'&amp;gt;'"/>
                  <xsl:with-param name="to" select="'&gt;'"/>
                </xsl:call-template>
              </xsl:with-param>
              <xsl:with-param name="from" select="'&amp;quot;'"/>
              <xsl:with-param name="to" select="'&quot;'"/>
            </xsl:call-template>
          </xsl:with-param>
          <xsl:with-param name="from" select="'&amp;#x27;'"/>
          <xsl:with-param name="to" select="&quot;'&quot;"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="from" select="'&amp;amp;'"/>
      <xsl:with-param name="to" select="'&amp;'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="replace">
    <xsl:param name="text"/>
    <xsl:param name="from"/>
    <xsl:param name="to"/>
    <xsl:choose>
      <xsl:when test="contains($text, $from)">
        <xsl:value-of select="substring-before($text, $from)"/>
        <xsl:value-of select="$to"/>
        <xsl:call-template name="replace">
          <xsl:with-param name="text" select="substring-after($text, $from)"/>
          <xsl:with-param name="from" select="$from"/>
          <xsl:with-param name="to" select="$to"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
